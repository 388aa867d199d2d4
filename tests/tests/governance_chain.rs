//! Governance, key rotation, regulator freezes and audit export on the chain (executor + RocksDB, real
//! signed transactions). The validator-set test checks the seam consensus relies on: after a vote, the
//! new set is readable with `validator_set_at` before the height it takes effect, and becomes the current
//! set at that height while blocks keep committing. (The same change on a live 4-node Malachite cluster
//! is the node's test.)

use scf_domain::date::Date;
use scf_domain::governance::{self, Ballot, Deadline, GovernanceCall, ProposalKind, ProposalStatus};
use scf_domain::invoice::{InvoiceCall, InvoiceLine, NewInvoice, Party};
use scf_domain::keys::{self, KeyCall};
use scf_domain::org::{self, OrgCall, Role};
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_ledger::crypto::KeyPair;
use scf_ledger::executor::validator_set;
use scf_ledger::genesis::Validator;
use scf_ledger::receipt::Receipt;
use scf_ledger::validators::validator_set_at;
use scf_tests::{credit_code, org_key, TestChain};

fn validator(i: usize) -> Validator {
    Validator {
        name: format!("v{i}"),
        public_key: *KeyPair::from_seed(&format!("it/v{i}")).public(),
        power: 1,
        peer_id: None,
    }
}

const ORGS: &[(&str, &[Role])] = &[
    ("A", &[Role::CoreEnterprise]),
    ("B", &[Role::Supplier]),
    ("C", &[Role::Supplier]),
    ("D", &[Role::Funder]),
    ("REG", &[Role::Regulator]),
];

fn chain(dir: &std::path::Path) -> TestChain {
    TestChain::with_genesis(dir, "2026-01-05", ORGS, |g| {
        g.validators = (0..4).map(validator).collect();
        g.app_state.insert(
            "governance".into(),
            serde_json::json!({
                "members": [{"org": "A", "weight": 1}, {"org": "B", "weight": 1}, {"org": "C", "weight": 1}, {"org": "D", "weight": 1}],
                "config": {"participation_bp": 5000, "pass_bp": 6667, "validator_delay_blocks": 3}
            }),
        );
    })
}

fn proposal_id(r: &Receipt) -> u64 {
    r.events[0].attribute("proposal").and_then(|p| p.parse().ok()).expect("proposal id")
}

fn propose(chain: &mut TestChain, who: &str, kind: ProposalKind, deadline: Deadline) -> u64 {
    let r = chain.ok(&org_key(who), &GovernanceCall::Propose { title: "change".into(), kind, deadline });
    proposal_id(&r)
}

fn vote_yes(chain: &mut TestChain, id: u64, orgs: &[&str]) {
    let txs = orgs
        .iter()
        .map(|o| chain.tx(&org_key(o), &GovernanceCall::Vote { proposal_id: id, ballot: Ballot::Yes }))
        .collect();
    for r in chain.block(txs) {
        assert!(r.is_success(), "{:?}", r.outcome);
    }
}

fn names(set: &[Validator]) -> Vec<String> {
    set.iter().map(|v| v.name.clone()).collect()
}

#[test]
fn a_validator_is_added_and_another_removed_by_vote_while_blocks_keep_committing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = chain(dir.path());
    let far = Deadline::Height { height: 1_000 };
    let add =
        propose(&mut chain, "A", ProposalKind::AddValidator { validator: validator(4), activation_delay: 0 }, far);
    let remove =
        propose(&mut chain, "B", ProposalKind::RemoveValidator { name: "v1".into(), activation_delay: 5 }, far);
    vote_yes(&mut chain, add, &["A", "B", "C"]);
    vote_yes(&mut chain, remove, &["A", "B", "C"]);
    let closed = chain.ok(&org_key("D"), &GovernanceCall::Close { proposal_id: add });
    let add_height: u64 = closed
        .events
        .iter()
        .find(|e| e.kind == "ValidatorSetScheduled")
        .and_then(|e| e.attribute("height"))
        .and_then(|h| h.parse().ok())
        .expect("scheduled height");
    assert_eq!(add_height, closed.height + 3, "close height + validator_delay_blocks");
    let closed = chain.ok(&org_key("D"), &GovernanceCall::Close { proposal_id: remove });
    let remove_height = closed.height + 5;

    let four: Vec<String> = (0..4).map(|i| format!("v{i}")).collect();
    let five: Vec<String> = (0..5).map(|i| format!("v{i}")).collect();
    let after: Vec<String> = ["v0", "v2", "v3", "v4"].iter().map(|s| s.to_string()).collect();
    // Blocks keep committing; at every height the set consensus reads for the next height is right.
    while chain.tip().height < remove_height + 2 {
        let next = chain.tip().height + 1;
        let expected = if next >= remove_height {
            &after
        } else if next >= add_height {
            &five
        } else {
            &four
        };
        assert_eq!(&names(&validator_set_at(&chain.state(), next).expect("set at")), expected, "height {next}");
        chain.block(vec![]);
        assert_eq!(&names(&validator_set(&chain.state()).expect("current")), expected, "current at {next}");
    }
    for id in [add, remove] {
        let p = governance::load_proposal(&chain.state(), id).expect("read").expect("proposal");
        assert!(matches!(p.status, ProposalStatus::Executed { .. }), "{:?}", p.status);
    }
}

#[test]
fn a_proposal_without_quorum_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = chain(dir.path());
    let deadline = Deadline::Height { height: chain.tip().height + 3 };
    let id =
        propose(&mut chain, "A", ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 100 }, deadline);
    vote_yes(&mut chain, id, &["A"]);
    assert_eq!(chain.refused(&org_key("B"), &GovernanceCall::Close { proposal_id: id }), "GOV_NOT_DECIDED");
    chain.block(vec![]);
    chain.block(vec![]);
    assert_eq!(
        chain.refused(&org_key("B"), &GovernanceCall::Vote { proposal_id: id, ballot: Ballot::Yes }),
        "GOV_VOTING_ENDED"
    );
    let r = chain.ok(&org_key("B"), &GovernanceCall::Close { proposal_id: id });
    assert_eq!(r.events[0].kind, "ProposalExpired");
    let p = governance::load_proposal(&chain.state(), id).expect("read").expect("proposal");
    assert!(matches!(p.status, ProposalStatus::Expired { .. }));
    assert_eq!(scf_ledger::executor::chain_params(&chain.state()).expect("params").max_block_txs, 10_000);
}

#[test]
fn a_rotated_key_is_refused_after_its_announced_height_and_expiring_keys_are_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = chain(dir.path());
    let new_b = KeyPair::from_seed("it/org/B/2027");
    let retire = chain.tip().height + 8;
    let id = propose(
        &mut chain,
        "A",
        ProposalKind::RotateOrgKey { org_id: "B".into(), new_key: *new_b.public(), retire_at_height: retire },
        Deadline::Height { height: 1_000 },
    );
    vote_yes(&mut chain, id, &["A", "C", "D"]);
    chain.ok(&org_key("A"), &GovernanceCall::Close { proposal_id: id });
    assert_eq!(org::load_org(&chain.state(), "B").expect("read").expect("org").public_key, *new_b.public());
    // Until the announced height both keys sign; after it the old one is refused.
    let user = KeyPair::from_seed("it/B/user");
    let expiry = scf_tests::time_of("2026-03-01");
    chain.ok(&org_key("B"), &OrgCall::AddAccount { public_key: *user.public(), label: "clerk".into(), admin: false });
    chain.ok(&new_b, &KeyCall::SetExpiry { address: user.address(), expires_at_ms: Some(expiry) });
    while chain.tip().height < retire {
        chain.block(vec![]);
    }
    let call =
        OrgCall::AddAccount { public_key: *KeyPair::from_seed("it/B/u2").public(), label: "u2".into(), admin: false };
    let m = chain.not_admitted(&org_key("B"), &call);
    assert!(m.contains("may not send") && m.contains("rotated"), "{m}");
    chain.ok(&new_b, &call);

    // Expiry: warned about within the window, refused once expired.
    let now = chain.tip().time_ms;
    assert!(keys::expiring_keys(&chain.state(), now, 7 * 86_400_000).expect("list").is_empty());
    let soon = keys::expiring_keys(&chain.state(), now, 60 * 86_400_000).expect("list");
    assert_eq!(soon.len(), 1);
    assert_eq!((soon[0].address, soon[0].org.as_str(), soon[0].expired), (user.address(), "B", false));
    chain.set_date("2026-03-02");
    let m = chain.not_admitted(&user, &OrgCall::RemoveAccount { address: user.address() });
    assert!(m.contains("may not send") && m.contains("expired"), "{m}");
}

fn invoice(number: &str) -> NewInvoice {
    let party = |id: &str| Party { name: format!("{id} 有限公司"), tax_id: credit_code(id) };
    NewInvoice {
        number: number.into(),
        issue_date: Date::parse("2026-01-05").expect("date"),
        currency: "CNY".into(),
        seller: party("B"),
        buyer: party("A"),
        buyer_org: Some("A".into()),
        lines: vec![InvoiceLine {
            item_name: "*零部件*".into(),
            spec: String::new(),
            unit: String::new(),
            quantity: None,
            unit_price: None,
            amount: 1_000_000,
            tax_rate_bp: 1300,
            tax_amount: 130_000,
        }],
        total_amount: 1_000_000,
        total_tax: 130_000,
        total_with_tax: 1_130_000,
        remarks: String::new(),
        issuer: "李四".into(),
        details: Default::default(),
    }
}

#[test]
fn frozen_objects_refuse_every_movement_and_the_regulator_exports_the_audit_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = chain(dir.path());
    let (a, b, reg) = (org_key("A"), org_key("B"), org_key("REG"));
    let start = chain.tip().time_ms;
    chain.ok(&b, &InvoiceCall::Issue(invoice("26312000000000000901")));
    chain.ok(
        &a,
        &VoucherCall::Issue {
            voucher_no: "YX-F-1".into(),
            to: "B".into(),
            amount: 1_000_000,
            currency: "CNY".into(),
            due_date: Date::parse("2026-05-05").expect("date"),
            contract_ref: "HT-F".into(),
            invoices: vec!["26312000000000000901".into()],
            allow_over_six_months: false,
        },
    );
    chain.ok(&b, &VoucherCall::SignFor { voucher_id: "YX-F-1".into() });
    let freeze = VoucherCall::Freeze { voucher_id: "YX-F-1".into(), reason: "涉嫌虚假贸易".into() };
    assert_eq!(chain.refused(&a, &freeze), "MISSING_ROLE");
    let r = chain.ok(&reg, &freeze);
    assert!(r.events.iter().any(|e| e.kind.contains("Frozen")), "{:?}", r.events);
    for movement in [
        VoucherCall::Transfer { voucher_id: "YX-F-1".into(), to: "C".into() },
        VoucherCall::Split {
            voucher_id: "YX-F-1".into(),
            parts: vec![SplitPart { to: "C".into(), amount: 1 }, SplitPart { to: "B".into(), amount: 999_999 }],
        },
        VoucherCall::OfferFinancing {
            voucher_id: "YX-F-1".into(),
            funder: "D".into(),
            discount_rate_bp: 400,
            agreement_ref: "FA".into(),
        },
    ] {
        assert_eq!(chain.refused(&b, &movement), "VOUCHER_TREE_FROZEN");
    }
    chain.ok(&reg, &VoucherCall::Unfreeze { voucher_id: "YX-F-1".into(), reason: "核查完毕".into() });
    chain.ok(&b, &VoucherCall::Transfer { voucher_id: "YX-F-1".into(), to: "C".into() });

    // A frozen account signs nothing, whatever the module: the chain does not even admit its transactions.
    let clerk = KeyPair::from_seed("it/C/clerk");
    chain.ok(&org_key("C"), &OrgCall::AddAccount { public_key: *clerk.public(), label: "clerk".into(), admin: true });
    chain.ok(&reg, &OrgCall::FreezeAccount { address: clerk.address(), reason: "异常操作".into() });
    let m = chain.not_admitted(&clerk, &VoucherCall::SignFor { voucher_id: "YX-F-1.1".into() });
    assert!(m.contains("may not send") && m.contains("frozen"), "{m}");
    let vote = GovernanceCall::Propose {
        title: "t".into(),
        kind: ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 9 },
        deadline: Deadline::Height { height: 1_000 },
    };
    let m = chain.not_admitted(&clerk, &vote);
    assert!(m.contains("frozen"), "{m}");

    // Audit export of B's activity over the period: its own calls (including refused ones) and every
    // event naming it (the regulator's freeze of its voucher).
    let end = chain.tip().time_ms + 1;
    let state = chain.state();
    let is_b = |addr: &scf_ledger::crypto::Address| {
        org::load_account(&state, addr).ok().flatten().is_some_and(|acct| acct.org_id == "B")
    };
    let export = scf_store::audit::org_activity(chain.store(), "B", start, end, &is_b).expect("export");
    let kinds: Vec<&str> = export.records.iter().flat_map(|r| r.events.iter().map(|e| e.kind.as_str())).collect();
    assert!(kinds.contains(&"InvoiceIssued"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k.contains("Frozen")), "{kinds:?}");
    assert_eq!(export.records.iter().filter(|r| !r.is_success_outcome()).count(), 3, "the three refused movements");
    assert!(export.records.iter().any(|r| !r.by_org), "the regulator's freeze names B");
    let csv = export.to_csv();
    assert_eq!(csv.lines().count(), export.records.len() + 1);
    assert!(csv.contains("VOUCHER_TREE_FROZEN"));
    let json: serde_json::Value = serde_json::from_str(&export.to_json()).expect("json");
    assert_eq!(json["org"], "B");
    // Nothing outside the period.
    let none = scf_store::audit::org_activity(chain.store(), "B", end, end + 1_000, &is_b).expect("export");
    assert!(none.records.is_empty());
}
