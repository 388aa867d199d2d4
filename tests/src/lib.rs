//! Shared fixtures for the cross-crate tests in `tests/tests/`: a single-process chain on RocksDB
//! (executor + store + every domain module) whose block time the test controls, with organisations
//! registered at genesis under deterministic keys.

use std::collections::BTreeMap;
use std::path::Path;

use borsh::BorshSerialize;
use scf_domain::date::Date;
use scf_domain::org::Role;
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::executor::{account_nonce, ChainTip, Executor};
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_store::Store;

pub const CHAIN_ID: &str = "scf-it";

/// The deterministic key of an organisation id in these tests.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("it/org/{id}"))
}

/// A unique, valid-length 统一社会信用代码 for an organisation id.
pub fn credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", hex_upper(&h[..7]))
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Block time (ms) for 10:00 Beijing time on `ymd`.
pub fn time_of(ymd: &str) -> u64 {
    let d = Date::parse(ymd).unwrap_or_else(|| panic!("bad date {ymd}"));
    (d.0 as i64 * 86_400_000 + 2 * 3_600_000) as u64
}

pub struct TestChain {
    pub store: Store,
    pub exec: Executor,
    pub tip: ChainTip,
    pub validator: KeyPair,
    next_time: u64,
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
        let mut app_state = BTreeMap::new();
        let org_list: Vec<serde_json::Value> = orgs
            .iter()
            .map(|(id, roles)| {
                serde_json::json!({
                    "id": id,
                    "name": format!("{id} 有限公司"),
                    "credit_code": credit_code(id),
                    "roles": roles,
                    "public_key": org_key(id).public().to_hex(),
                })
            })
            .collect();
        let funders: Vec<&str> = orgs.iter().filter(|(_, r)| r.contains(&Role::Funder)).map(|(id, _)| *id).collect();
        app_state.insert("org".to_string(), serde_json::json!({ "orgs": org_list, "approved_funders": funders }));
        let mut genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            genesis_time_ms: time_of(start) - 3_600_000,
            params: ChainParams::default(),
            validators: vec![Validator { name: "v0".into(), public_key: *validator.public(), power: 1, peer_id: None }],
            app_state,
        };
        edit(&mut genesis);
        let exec = Executor::new(CHAIN_ID, scf_domain::modules());
        let store = Store::open(dir).unwrap_or_else(|e| panic!("open store: {e}"));
        let tip = store.init_genesis(&exec, &genesis).unwrap_or_else(|e| panic!("genesis: {e}"));
        TestChain { store, exec, tip, validator, next_time: time_of(start) }
    }

    /// Move the block clock to 10:00 Beijing time on `ymd` (must not go backwards).
    pub fn set_date(&mut self, ymd: &str) {
        let t = time_of(ymd);
        assert!(t > self.tip.time_ms, "time must move forward");
        self.next_time = t;
    }

    /// Build and sign a call from `key` with its next nonce.
    pub fn tx<C: BorshSerialize>(&self, key: &KeyPair, module: &str, call: &C) -> SignedTx {
        let state = self.store.state_at(self.tip.height);
        let nonce = account_nonce(&state, &key.address()).unwrap_or_else(|e| panic!("nonce: {e}"));
        TxBody {
            chain_id: CHAIN_ID.into(),
            sender: *key.public(),
            nonce,
            expiry_height: self.tip.height + 100,
            call: Call { module: module.into(), payload: scf_domain::kv::encode_call(call) },
        }
        .sign(key)
    }

    /// Commit one block with `txs`; returns their receipts.
    pub fn block(&mut self, txs: Vec<SignedTx>) -> Vec<Receipt> {
        let time = self.next_time.max(self.tip.time_ms + 1);
        let out = self
            .exec
            .execute_block(&self.store, &self.tip, time, self.validator.address(), txs, &|_: &Hash32| false)
            .unwrap_or_else(|e| panic!("execute: {e}"));
        self.tip = self.store.commit_block(&out).unwrap_or_else(|e| panic!("commit: {e}"));
        self.next_time = time + 1;
        out.receipts
    }

    /// Submit one call in its own block and return its receipt.
    pub fn call<C: BorshSerialize>(&mut self, key: &KeyPair, module: &str, call: &C) -> Receipt {
        let tx = self.tx(key, module, call);
        self.block(vec![tx]).remove(0)
    }

    /// Submit a call that must succeed.
    pub fn ok<C: BorshSerialize>(&mut self, key: &KeyPair, module: &str, call: &C) -> Receipt {
        let r = self.call(key, module, call);
        if let TxOutcome::Failed { code, message } = &r.outcome {
            panic!("{module} call failed: {code}: {message}");
        }
        r
    }

    /// Submit a call that must be refused; returns the rule code.
    pub fn refused<C: BorshSerialize>(&mut self, key: &KeyPair, module: &str, call: &C) -> String {
        match self.call(key, module, call).outcome {
            TxOutcome::Failed { code, .. } => code,
            TxOutcome::Success => panic!("{module} call unexpectedly succeeded"),
        }
    }

    /// Read state at the tip.
    pub fn state(&self) -> scf_ledger::authenticated::VersionedState<'_, Store> {
        self.store.state_at(self.tip.height)
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
