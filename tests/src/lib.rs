//! Shared fixtures for the cross-crate tests in `tests/tests/`: the in-process chain of `scf-client`
//! over RocksDB with every domain module, blocks made when the test says and at a block time the test
//! controls, and organisations registered at genesis under deterministic keys.

use std::path::Path;
use std::sync::Arc;

use scf_client::{CommittedBlock, InProcessChain, Production};
use scf_domain::date::Date;
use scf_domain::org::{OrgGenesis, Role};
use scf_ledger::authenticated::VersionedState;
use scf_ledger::crypto::KeyPair;
use scf_ledger::executor::{account_nonce, ChainTip};
use scf_ledger::genesis::{Genesis, Validator};
use scf_ledger::module::ModuleCall;
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_store::Store;

pub const CHAIN_ID: &str = "scf-it";

/// The deterministic key of an organisation id in these tests.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("it/{id}"))
}

/// A unique, valid-length 统一社会信用代码 for an organisation id.
pub fn credit_code(id: &str) -> String {
    scf_domain::org::derived_credit_code(id)
}

/// Block time (ms) for 10:00 Beijing time on `ymd`.
pub fn time_of(ymd: &str) -> u64 {
    let d = Date::parse(ymd).unwrap_or_else(|| panic!("bad date {ymd}"));
    (d.0 as i64 * 86_400_000 + 2 * 3_600_000) as u64
}

/// A chain whose blocks the test makes, one call at a time or several together.
pub struct TestChain {
    pub chain: InProcessChain<Store>,
    pub validator: KeyPair,
}

impl TestChain {
    /// A chain on `dir` whose genesis registers `orgs` (id, roles) and approves every funder.
    pub fn new(dir: &Path, start: &str, orgs: &[(&str, &[Role])]) -> TestChain {
        Self::with_genesis(dir, start, orgs, |_| {})
    }

    /// As [`TestChain::new`], letting the test adjust the genesis (validators, other modules' sections).
    pub fn with_genesis(
        dir: &Path,
        start: &str,
        orgs: &[(&str, &[Role])],
        edit: impl FnOnce(&mut Genesis),
    ) -> TestChain {
        let validator = KeyPair::from_seed("it/validator");
        let validators =
            vec![Validator { name: "v0".into(), public_key: *validator.public(), power: 1, peer_id: None }];
        let mut genesis =
            OrgGenesis::of(orgs, |id| *org_key(id).public()).genesis(CHAIN_ID, time_of(start) - 3_600_000, validators);
        edit(&mut genesis);
        let store = Store::open(dir).unwrap_or_else(|e| panic!("open store: {e}"));
        let chain = InProcessChain::open_with(
            store,
            &genesis,
            scf_domain::modules(),
            Production::Manual,
            Some(validator.clone()),
        )
        .unwrap_or_else(|e| panic!("genesis: {e}"));
        chain.set_time_ms(Some(time_of(start)));
        TestChain { chain, validator }
    }

    /// The committed tip.
    pub fn tip(&self) -> ChainTip {
        self.chain.tip_now().unwrap_or_else(|e| panic!("tip: {e}"))
    }

    pub fn store(&self) -> &Arc<Store> {
        self.chain.store()
    }

    /// Move the block clock to 10:00 Beijing time on `ymd` (must not go backwards).
    pub fn set_date(&mut self, ymd: &str) {
        let t = time_of(ymd);
        assert!(t > self.tip().time_ms, "time must move forward");
        self.chain.set_time_ms(Some(t));
    }

    /// Build and sign a call from `key` with its next nonce (the module comes from the call's type).
    pub fn tx<C: ModuleCall>(&self, key: &KeyPair, call: &C) -> SignedTx {
        self.tx_raw(key, C::MODULE, call.encode_payload())
    }

    /// Build and sign a payload for `module` (for malformed or foreign payloads).
    pub fn tx_raw(&self, key: &KeyPair, module: &str, payload: Vec<u8>) -> SignedTx {
        let tip = self.tip();
        let nonce = account_nonce(&self.state(), &key.address()).unwrap_or_else(|e| panic!("nonce: {e}"));
        TxBody {
            chain_id: CHAIN_ID.into(),
            sender: *key.public(),
            nonce,
            expiry_height: tip.height + 100,
            call: Call { module: module.into(), payload },
        }
        .sign(key)
    }

    /// Commit one block with `txs`; returns their receipts.
    pub fn block(&mut self, txs: Vec<SignedTx>) -> Vec<Receipt> {
        self.commit(txs).receipts.clone()
    }

    /// Commit one block with `txs`.
    pub fn commit(&mut self, txs: Vec<SignedTx>) -> Arc<CommittedBlock> {
        self.chain.produce_block(txs).unwrap_or_else(|e| panic!("block: {e}"))
    }

    /// Submit one call in its own block and return its receipt.
    pub fn call<C: ModuleCall>(&mut self, key: &KeyPair, call: &C) -> Receipt {
        let tx = self.tx(key, call);
        self.block(vec![tx]).remove(0)
    }

    /// Submit a call that must succeed.
    pub fn ok<C: ModuleCall>(&mut self, key: &KeyPair, call: &C) -> Receipt {
        let r = self.call(key, call);
        if let TxOutcome::Failed { code, message } = &r.outcome {
            panic!("{} call failed: {code}: {message}", C::MODULE);
        }
        r
    }

    /// Submit a call that must be refused; returns the rule code.
    pub fn refused<C: ModuleCall>(&mut self, key: &KeyPair, call: &C) -> String {
        match self.call(key, call).outcome {
            TxOutcome::Failed { code, .. } => code,
            TxOutcome::Success => panic!("{} call unexpectedly succeeded", C::MODULE),
        }
    }

    /// The refusal of a block holding `call` from `key` when the chain admits no such sender (no account,
    /// or one removed, frozen, retired or expired): every validator refuses that block, so nothing of it
    /// is committed — not even a nonce. Returns the executor's message.
    pub fn not_admitted<C: ModuleCall>(&mut self, key: &KeyPair, call: &C) -> String {
        let tx = self.tx(key, call);
        match self.chain.produce_block(vec![tx]) {
            Ok(_) => panic!("a {} call from {} was admitted", C::MODULE, key.address()),
            Err(e) => e.to_string(),
        }
    }

    /// Read state at the tip.
    pub fn state(&self) -> VersionedState<'_, Store> {
        self.chain.state_now().unwrap_or_else(|e| panic!("state: {e}"))
    }
}

/// A one-line 13 % VAT e-invoice between two test organisations (amount before tax, in fen; the unit
/// price is amount / 1000 so quantity × price equals the amount).
pub fn sample_invoice(
    number: &str,
    seller: &str,
    buyer: &str,
    amount: u64,
    date: &str,
) -> scf_domain::invoice::NewInvoice {
    use scf_domain::invoice::{InvoiceLine, NewInvoice, Party};
    let tax = amount * 13 / 100;
    let party = |id: &str| Party { name: format!("{id} 有限公司"), tax_id: credit_code(id) };
    NewInvoice {
        number: number.into(),
        issue_date: Date::parse(date).unwrap_or_else(|| panic!("bad date {date}")),
        currency: "CNY".into(),
        seller: party(seller),
        buyer: party(buyer),
        buyer_org: Some(buyer.into()),
        lines: vec![InvoiceLine {
            item_name: "*汽车零部件*制动盘".into(),
            spec: "BD-320".into(),
            unit: "件".into(),
            quantity: Some("1000".into()),
            unit_price: Some(format!("{}.{:02}", amount / 100_000, (amount / 1000) % 100)),
            amount,
            tax_rate_bp: 1300,
            tax_amount: tax,
        }],
        total_amount: amount,
        total_tax: tax,
        total_with_tax: amount + tax,
        remarks: "合同 HT-2026-001".into(),
        issuer: "张三".into(),
        details: Default::default(),
    }
}
