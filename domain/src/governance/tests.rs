//! Governance rules on the in-memory world: thresholds, deadlines, expiry, vote changes, early close,
//! scheduled validator sets, parameters, organisation admission/removal and key rotation.

use scf_ledger::crypto::KeyPair;
use scf_ledger::genesis::Validator;
use scf_ledger::module::Module;
use scf_ledger::validators;

use super::*;
use crate::kv::encode_call;
use crate::testkit::World;

fn world() -> (World, Vec<KeyPair>) {
    let mut w = World::new();
    let keys: Vec<KeyPair> = ["A", "B", "C", "D"].iter().map(|id| w.add_org(id, &[Role::Supplier])).collect();
    w.add_org("REG", &[Role::Regulator]);
    let genesis = serde_json::json!({
        "members": [
            { "org": "A", "weight": 1 }, { "org": "B", "weight": 1 }, { "org": "C", "weight": 1 }, { "org": "D", "weight": 1 }
        ],
        "config": { "participation_bp": 5000, "pass_bp": 6667, "validator_delay_blocks": 2 }
    });
    GovernanceModule.init_genesis(&mut w.state, &genesis).expect("genesis");
    let v0 = Validator { name: "v0".into(), public_key: *KeyPair::from_seed("v0").public(), power: 1, peer_id: None };
    w.state.set(scf_ledger::genesis::VALIDATORS_KEY, scf_ledger::codec::encode(&vec![v0]));
    (w, keys)
}

fn call(w: &mut World, k: &KeyPair, c: GovernanceCall) -> Result<Vec<Event>, ModuleError> {
    w.exec(&GovernanceModule, k, &encode_call(&c))
}

fn propose(w: &mut World, k: &KeyPair, kind: ProposalKind, deadline_height: u64) -> u64 {
    let ev = call(
        w,
        k,
        GovernanceCall::Propose { title: "t".into(), kind, deadline: Deadline::Height { height: deadline_height } },
    )
    .expect("propose");
    ev[0].attribute("proposal").and_then(|p| p.parse().ok()).expect("id")
}

fn vote(w: &mut World, k: &KeyPair, id: u64, ballot: Ballot) {
    call(w, k, GovernanceCall::Vote { proposal_id: id, ballot }).expect("vote");
}

fn status(w: &World, id: u64) -> ProposalStatus {
    load_proposal(&w.state, id).expect("read").expect("proposal").status
}

fn validator(name: &str) -> Validator {
    Validator { name: name.into(), public_key: *KeyPair::from_seed(name).public(), power: 1, peer_id: None }
}

#[test]
fn passed_validator_addition_is_scheduled_at_close_height_plus_delay() {
    let (mut w, k) = world();
    let id =
        propose(&mut w, &k[0], ProposalKind::AddValidator { validator: validator("v1"), activation_delay: 0 }, 100);
    vote(&mut w, &k[0], id, Ballot::Yes);
    vote(&mut w, &k[1], id, Ballot::Yes);
    // 2 of 4 is below the 66.67 % pass threshold and the others could still say yes: not decided.
    let e = call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect_err("not decided");
    assert_eq!(e.code, "GOV_NOT_DECIDED");
    vote(&mut w, &k[2], id, Ballot::Yes);
    let h = w.height;
    let ev = call(&mut w, &k[3], GovernanceCall::Close { proposal_id: id }).expect("close");
    assert_eq!(ev[0].kind, "ProposalExecuted");
    assert_eq!(status(&w, id), ProposalStatus::Executed { height: h });
    assert_eq!(validators::validator_set_at(&w.state, h + 1).expect("set").len(), 1);
    assert_eq!(validators::validator_set_at(&w.state, h + 2).expect("set").len(), 2);
    // Closed: no more votes.
    let e = call(&mut w, &k[3], GovernanceCall::Vote { proposal_id: id, ballot: Ballot::No }).expect_err("closed");
    assert_eq!(e.code, "GOV_PROPOSAL_CLOSED");
}

#[test]
fn without_quorum_a_proposal_expires_at_its_deadline() {
    let (mut w, k) = world();
    let h = w.height;
    let id = propose(&mut w, &k[0], ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 500 }, h + 1);
    vote(&mut w, &k[0], id, Ballot::Yes);
    assert_eq!(
        call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect_err("open").code,
        "GOV_NOT_DECIDED"
    );
    w.height += 2;
    assert_eq!(
        call(&mut w, &k[1], GovernanceCall::Vote { proposal_id: id, ballot: Ballot::Yes }).expect_err("ended").code,
        "GOV_VOTING_ENDED"
    );
    let ev = call(&mut w, &k[1], GovernanceCall::Close { proposal_id: id }).expect("close");
    assert_eq!(ev[0].kind, "ProposalExpired");
    assert!(matches!(status(&w, id), ProposalStatus::Expired { .. }));
    assert_eq!(scf_ledger::executor::chain_params(&w.state).expect("params").max_block_txs, 10_000);
    assert!(open_proposals(&w.state).expect("open").is_empty());
}

#[test]
fn quorum_without_pass_is_rejected_and_votes_can_change_until_close() {
    let (mut w, k) = world();
    let h = w.height;
    let id = propose(&mut w, &k[0], ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 500 }, h + 5);
    vote(&mut w, &k[0], id, Ballot::Yes);
    vote(&mut w, &k[1], id, Ballot::Yes);
    vote(&mut w, &k[2], id, Ballot::No);
    vote(&mut w, &k[3], id, Ballot::Abstain);
    // 2 yes of 4 cannot reach 66.67 % with nobody left to vote — but a vote can still change.
    vote(&mut w, &k[2], id, Ballot::Yes);
    let ev = call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect("close");
    assert_eq!(ev[0].kind, "ProposalExecuted");
    assert_eq!(scf_ledger::executor::chain_params(&w.state).expect("params").max_block_txs, 500);

    let deadline = w.height + 5;
    let id = propose(&mut w, &k[0], ProposalKind::SetParam { name: "gov.pass_bp".into(), value: 7500 }, deadline);
    vote(&mut w, &k[1], id, Ballot::No);
    vote(&mut w, &k[2], id, Ballot::No);
    let ev = call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect("decided: cannot pass");
    assert_eq!(ev[0].kind, "ProposalRejected");
}

#[test]
fn only_member_admins_propose_and_vote_and_bad_proposals_are_refused() {
    let (mut w, k) = world();
    let reg = World::key("REG");
    let kind = ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 5 };
    let e = call(
        &mut w,
        &reg,
        GovernanceCall::Propose { title: "t".into(), kind: kind.clone(), deadline: Deadline::Height { height: 99 } },
    )
    .expect_err("not a member");
    assert_eq!(e.code, "GOV_NOT_MEMBER");
    let e = call(
        &mut w,
        &k[0],
        GovernanceCall::Propose { title: "t".into(), kind, deadline: Deadline::Height { height: 0 } },
    )
    .expect_err("deadline");
    assert_eq!(e.code, "GOV_BAD_DEADLINE");
    for kind in [
        ProposalKind::SetParam { name: "chain.unknown".into(), value: 1 },
        ProposalKind::SetParam { name: "gov.pass_bp".into(), value: 5000 },
        ProposalKind::RemoveValidator { name: "v0".into(), activation_delay: 0 },
        ProposalKind::AddValidator { validator: validator("v0"), activation_delay: 0 },
    ] {
        let e = call(
            &mut w,
            &k[0],
            GovernanceCall::Propose { title: "t".into(), kind, deadline: Deadline::Height { height: 99 } },
        )
        .expect_err("invalid");
        assert_eq!(e.code, "GOV_INVALID", "{e}");
    }
}

#[test]
fn organisations_join_and_leave_by_vote() {
    let (mut w, k) = world();
    let e_key = World::key("E");
    let new = NewOrg {
        id: "E".into(),
        name: "E 有限公司".into(),
        credit_code: "91310000000000000E".into(),
        roles: vec![Role::Funder],
        public_key: *e_key.public(),
    };
    let id = propose(&mut w, &k[0], ProposalKind::AddOrg { org: new, committee_weight: 2 }, 99);
    for kp in &k[..3] {
        vote(&mut w, kp, id, Ballot::Yes);
    }
    call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect("close");
    assert!(org::load_org(&w.state, "E").expect("read").is_some());
    assert!(committee(&w.state).expect("committee").iter().any(|m| m.org == "E" && m.weight == 2));

    let id = propose(&mut w, &e_key, ProposalKind::RemoveOrg { org_id: "D".into() }, 99);
    for kp in [&k[0], &k[1], &k[2], &e_key] {
        vote(&mut w, kp, id, Ballot::Yes);
    }
    call(&mut w, &k[0], GovernanceCall::Close { proposal_id: id }).expect("close");
    let d = org::load_org(&w.state, "D").expect("read").expect("org");
    assert!(matches!(d.status, OrgStatus::Frozen { .. }));
    let e = call(
        &mut w,
        &k[3],
        GovernanceCall::Propose {
            title: "t".into(),
            kind: ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 5 },
            deadline: Deadline::Height { height: 99 },
        },
    )
    .expect_err("removed org cannot act");
    assert_eq!(e.code, "ORG_FROZEN");
}

#[test]
fn rotated_org_key_is_refused_after_its_announced_height() {
    let (mut w, k) = world();
    let new_a = KeyPair::from_seed("A-2027");
    let retire = w.height + 3;
    let id = propose(
        &mut w,
        &k[1],
        ProposalKind::RotateOrgKey { org_id: "A".into(), new_key: *new_a.public(), retire_at_height: retire },
        99,
    );
    for kp in &k[1..] {
        vote(&mut w, kp, id, Ballot::Yes);
    }
    call(&mut w, &k[1], GovernanceCall::Close { proposal_id: id }).expect("close");
    assert_eq!(org::load_org(&w.state, "A").expect("read").expect("org").public_key, *new_a.public());
    // Both keys work until the announced height, then only the new one.
    let p = ProposalKind::SetParam { name: "chain.max_block_txs".into(), value: 7 };
    w.height = retire;
    propose(&mut w, &k[0], p.clone(), 99);
    propose(&mut w, &new_a, p.clone(), 99);
    w.height = retire + 1;
    let e = call(
        &mut w,
        &k[0],
        GovernanceCall::Propose { title: "t".into(), kind: p.clone(), deadline: Deadline::Height { height: 99 } },
    )
    .expect_err("retired");
    assert_eq!(e.code, "ACCOUNT_KEY_RETIRED");
    propose(&mut w, &new_a, p, 99);
}
