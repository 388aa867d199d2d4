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

fn pass(w: &mut World, k: &[KeyPair], kind: ProposalKind) -> Result<Vec<Event>, ModuleError> {
    let id = propose(w, &k[0], kind, 99);
    for kp in &k[..3] {
        vote(w, kp, id, Ballot::Yes);
    }
    let ev = call(w, &k[0], GovernanceCall::Close { proposal_id: id })?;
    match status(w, id) {
        ProposalStatus::Executed { .. } => Ok(ev),
        other => panic!("proposal {id}: {other:?}"),
    }
}

fn ca(org: &str, subject: Option<&str>) -> scf_ca::Authority {
    let start = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000);
    let key = KeyPair::from_seed(&format!("{org} {subject:?}"));
    scf_ca::Authority::init(org, subject, scf_ca::Validity::days_from(start, 3650), key).expect("ca")
}

#[test]
fn organisation_cas_are_recorded_removed_and_revoke_certificates_by_vote() {
    use scf_ledger::org_ca;
    let (mut w, k) = world();
    let a_ca = ca("A", None);
    let der = a_ca.certificate().der().to_vec();
    let fp = crate::org_ca::fingerprint(&der);
    let ev = pass(&mut w, &k, ProposalKind::AddOrgCa { org_id: "A".into(), certificate: der.clone() }).expect("add");
    assert!(ev.iter().any(|e| e.kind == "OrgCaAdded"));
    let cas = org_ca::org_cas(&w.state).expect("cas");
    assert_eq!((cas.len(), cas[0].org.as_str(), cas[0].fingerprint), (1, "A", fp));
    assert_eq!(cas[0].subject, a_ca.certificate().subject());

    // Refused when proposed: the same CA again, another organisation's subject, not a CA, garbage.
    let refused = |w: &mut World, kind: ProposalKind| {
        call(w, &k[0], GovernanceCall::Propose { title: "t".into(), kind, deadline: Deadline::Height { height: 99 } })
            .expect_err("refused")
    };
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "A".into(), certificate: der.clone() });
    assert!(e.message.contains("already recorded"), "{}", e.message);
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "B".into(), certificate: der.clone() });
    assert!(e.message.contains("certificate"), "{}", e.message);
    let twin = ca("A", Some(&a_ca.certificate().subject()));
    let e =
        refused(&mut w, ProposalKind::AddOrgCa { org_id: "B".into(), certificate: twin.certificate().der().to_vec() });
    assert!(e.message.contains("already the CA of A"), "{}", e.message);
    let leaf = a_ca
        .issue(
            7,
            &scf_ca::IssueRequest {
                kind: scf_ca::CertKind::Node,
                subject: "CN=node-a".into(),
                public_key: *KeyPair::from_seed("node-a").public(),
                validity: scf_ca::Validity::days_from(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000),
                    90,
                ),
                subject_alt_names: Vec::new(),
            },
        )
        .expect("leaf");
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "A".into(), certificate: leaf.der().to_vec() });
    assert!(e.message.starts_with("certificate:"), "{}", e.message);
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "A".into(), certificate: vec![0x30, 0x03, 1, 2, 3] });
    assert!(e.message.starts_with("certificate:"), "{}", e.message);
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "NOPE".into(), certificate: der.clone() });
    assert_eq!(e.code, "UNKNOWN_ORG");

    // Revocation: of a recorded CA, a known reason, once.
    let e = refused(
        &mut w,
        ProposalKind::RevokeCertificate { ca: Hash32::of(b"x"), serial: 7, reason: "keyCompromise".into() },
    );
    assert!(e.message.starts_with("ca:"), "{}", e.message);
    let e = refused(&mut w, ProposalKind::RevokeCertificate { ca: fp, serial: 7, reason: "because".into() });
    assert!(e.message.starts_with("reason:"), "{}", e.message);
    pass(&mut w, &k, ProposalKind::RevokeCertificate { ca: fp, serial: 7, reason: "keyCompromise".into() })
        .expect("revoke");
    let revoked = org_ca::revoked_certs(&w.state).expect("revoked");
    assert_eq!(
        (revoked[0].serial, revoked[0].issuer.as_str(), revoked[0].reason.as_str()),
        (7, cas[0].subject.as_str(), "keyCompromise")
    );
    let e = refused(&mut w, ProposalKind::RevokeCertificate { ca: fp, serial: 7, reason: "superseded".into() });
    assert!(e.message.contains("already revoked"), "{}", e.message);

    // Only the owner's CA can be removed through it; removal takes its revocations along.
    let e = refused(&mut w, ProposalKind::RemoveOrgCa { org_id: "B".into(), fingerprint: fp });
    assert!(e.message.contains("not of B"), "{}", e.message);
    let b_der = ca("B", None).certificate().der().to_vec();
    pass(&mut w, &k, ProposalKind::AddOrgCa { org_id: "B".into(), certificate: b_der.clone() }).expect("add B");
    pass(&mut w, &k, ProposalKind::RemoveOrgCa { org_id: "A".into(), fingerprint: fp }).expect("remove");
    let cas = org_ca::org_cas(&w.state).expect("cas");
    assert_eq!(cas.iter().map(|c| c.org.as_str()).collect::<Vec<_>>(), ["B"]);
    assert!(org_ca::revoked_certs(&w.state).expect("revoked").is_empty());

    // Removing an organisation removes its CAs.
    let ev = pass(&mut w, &k, ProposalKind::RemoveOrg { org_id: "B".into() }).expect("remove org");
    assert!(ev.iter().any(|e| e.kind == "OrgCaRemoved"));
    assert!(org_ca::org_cas(&w.state).expect("cas").is_empty());
    // ...and a removed organisation cannot get one back.
    let e = refused(&mut w, ProposalKind::AddOrgCa { org_id: "B".into(), certificate: b_der });
    assert_eq!(e.code, "ORG_FROZEN");
}

#[test]
fn genesis_records_founding_cas_and_refuses_a_bad_one() {
    let mut w = World::new();
    let pem = ca("A", None).certificate().to_pem().expect("pem");
    let genesis = |certs: Vec<String>| {
        serde_json::json!({ "orgs": [{ "id": "A", "name": "A 有限公司", "credit_code": "91310000000000000A",
            "roles": ["supplier"], "public_key": World::key("A").public().to_hex(), "ca_certs": certs }] })
    };
    let e = <crate::org::OrgModule as scf_ledger::module::BusinessModule>::init_genesis(
        &mut w.state.clone(),
        &genesis(vec!["junk".into()]),
    )
    .expect_err("bad pem");
    assert!(e.message.contains("app_state.org.orgs[0].ca_certs[0]"), "{}", e.message);
    <crate::org::OrgModule as scf_ledger::module::BusinessModule>::init_genesis(&mut w.state, &genesis(vec![pem]))
        .expect("genesis");
    let cas = scf_ledger::org_ca::org_cas(&w.state).expect("cas");
    assert_eq!((cas.len(), cas[0].height), (1, 0));
}
