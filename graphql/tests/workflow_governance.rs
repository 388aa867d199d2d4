//! Workflows, governance and the explorer through GraphQL, on SQLite and on a real PostgreSQL server:
//! a voucher financing application from submission to the supplier confirming the money (with a
//! question and answer on the way), each step showing up in the right organisation's "waiting for me"
//! and in the audit trail; a committee proposal voted and executed; key expiry warnings; validators,
//! chain status, certificates and a transaction's events and inclusion proof.

mod common;
mod pg;

use common::*;
use scf_domain::governance::{GovGenesis, Member};
use serde_json::{json, Value};

const TASKS: &str = "query { myTasks { instanceId process state party actions canAct deadlineMs overdue } }";
const APPS: &str = "query($f:FinancingFilter){ financingApplications(filter:$f){ id state supplier funder amount \
    deadlineMs info { question answer } invoiceCheck { passed } approval { discountRateBp netAmount registrationNo } \
    disbursement { paymentRef amount } } }";

/// Genesis with a governance committee of CORE, BANK and REG (weight 1 each).
pub async fn start(db: Option<String>) -> Harness {
    Harness::start_with(db, Vec::new(), |g| {
        let gov = GovGenesis {
            members: ["CORE", "BANK", "REG"].iter().map(|o| Member { org: o.to_string(), weight: 1 }).collect(),
            config: Default::default(),
        };
        g.app_state.insert(scf_domain::governance::MODULE.to_string(), serde_json::to_value(gov).expect("gov json"));
    })
    .await
}

fn task_ids(d: &Value) -> Vec<(String, String)> {
    d["myTasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| (t["instanceId"].as_str().unwrap_or("").to_string(), t["state"].as_str().unwrap_or("").to_string()))
        .collect()
}

async fn financing(h: &Harness) {
    let core = h.login("core-admin", PASSWORD).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let s2 = h.login("s2-admin", PASSWORD).await;
    let bank = h.login("bank-admin", PASSWORD).await;
    let reg = h.login("reg-admin", PASSWORD).await;
    let inv = "26310000000000000101";
    h.ok(Some(&s1), ISSUE_INVOICE, json!({ "i": invoice_input(inv, "S1", "CORE", 10_000_000, "2026-01-05") })).await;
    h.ok(
        Some(&core),
        ISSUE_VOUCHER,
        json!({ "i": { "voucherNo": "YX-WF", "to": "S1", "amount": 10_000_000, "dueDate": "2026-06-30",
                        "contractRef": "HT-WF", "invoices": [inv] } }),
    )
    .await;
    h.ok(Some(&s1), "mutation{ signForVoucher(voucherId:\"YX-WF\"){ height } }", json!({})).await;

    // The obligor's inbox holds the unpaid voucher (maturity), with its due date as the deadline.
    let d = h.ok(Some(&core), TASKS, json!({})).await;
    assert_eq!(task_ids(&d), vec![("YX-WF".to_string(), "outstanding".to_string())], "{d}");
    assert_eq!(d["myTasks"][0]["actions"], json!(["voucher.RecordPayment"]));

    let apply = "mutation($i:ApplyFinancingInput!){ applyForFinancing(input:$i){ txId events { kind } } }";
    let r = h
        .ok(
            Some(&s1),
            apply,
            json!({ "i": { "applicationId": "APP-1", "voucherId": "YX-WF", "funder": "BANK", "requestedRateBp": 500,
                           "documents": [{ "name": "申请书.pdf", "sm3": "ab".repeat(32) }] } }),
        )
        .await;
    let kinds: Vec<&str> = r["applyForFinancing"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"FinancingOffered") || kinds.len() >= 2, "{r}");

    // Waiting for the funder, not the supplier.
    let d = h.ok(Some(&bank), TASKS, json!({})).await;
    assert_eq!(task_ids(&d), vec![("APP-1".to_string(), "submitted".to_string())], "{d}");
    let actions = d["myTasks"][0]["actions"].as_array().expect("actions").clone();
    for a in ["CheckInvoices", "RequestInfo", "ApproveFinancing", "RejectFinancing"] {
        assert!(actions.contains(&json!(a)), "{a} missing from {d}");
    }
    assert_eq!(d["myTasks"][0]["party"], "funder");
    assert!(d["myTasks"][0]["deadlineMs"].as_i64().is_some());
    assert!(task_ids(&h.ok(Some(&s1), TASKS, json!({})).await).is_empty());

    // Funder asks; now it waits for the supplier.
    h.ok(
        Some(&bank),
        "mutation{ requestFinancingInfo(applicationId:\"APP-1\", question:\"请提供发货单\"){ txId } }",
        json!({}),
    )
    .await;
    assert_eq!(
        task_ids(&h.ok(Some(&s1), TASKS, json!({})).await),
        vec![("APP-1".to_string(), "info_requested".to_string())]
    );
    assert!(task_ids(&h.ok(Some(&bank), TASKS, json!({})).await).is_empty());
    // The funder cannot answer its own question: the process says the supplier does.
    let r = h
        .gql(Some(&bank), "mutation{ provideFinancingInfo(applicationId:\"APP-1\", answer:\"x\"){ txId } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    h.ok(
        Some(&s1),
        "mutation{ provideFinancingInfo(applicationId:\"APP-1\", answer:\"见附件\", documents:[{name:\"发货单.pdf\", sm3:\"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\"}]){ txId } }",
        json!({}),
    )
    .await;
    h.ok(Some(&bank), "mutation{ checkFinancingInvoices(applicationId:\"APP-1\"){ txId } }", json!({})).await;
    // A rate above the one applied for is refused. The requested rate travels sealed, so the chain cannot
    // compare; the funder's API opens it and refuses, naming the field.
    let r = h
        .gql(
            Some(&bank),
            "mutation{ approveFinancing(applicationId:\"APP-1\", discountRateBp:900, agreementRef:\"FA-1\"){ txId } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "discountRateBp", "{r}");
    assert!(r["errors"][0]["message"].as_str().is_some_and(|m| m.contains("above the 500 bp")), "{r}");
    h.ok(
        Some(&bank),
        "mutation{ approveFinancing(applicationId:\"APP-1\", discountRateBp:400, agreementRef:\"FA-1\"){ txId } }",
        json!({}),
    )
    .await;
    let d = h.ok(Some(&bank), APPS, json!({ "f": { "state": "approved" } })).await;
    let app = &d["financingApplications"][0];
    assert_eq!(app["id"], "APP-1", "{d}");
    assert_eq!(app["info"][0]["answer"], "见附件");
    assert_eq!(app["invoiceCheck"]["passed"], true);
    let net = app["approval"]["netAmount"].as_i64().expect("net amount");
    assert!(net > 0 && net < 10_000_000, "{d}");
    assert!(!app["approval"]["registrationNo"].as_str().unwrap_or("").is_empty());
    h.ok(
        Some(&bank),
        "mutation($n:Int!){ recordDisbursement(applicationId:\"APP-1\", paymentRef:\"CNAPS-1\", amount:$n){ txId } }",
        json!({ "n": net }),
    )
    .await;
    let confirm =
        h.ok(Some(&s1), "mutation{ confirmFinancingReceipt(applicationId:\"APP-1\"){ txId } }", json!({})).await;
    let last_tx = confirm["confirmFinancingReceipt"]["txId"].as_str().expect("tx").to_string();
    let d = h.ok(Some(&s1), APPS, json!({ "f": { "openOnly": false } })).await;
    assert_eq!(d["financingApplications"][0]["state"], "completed", "{d}");
    assert_eq!(d["financingApplications"][0]["disbursement"]["amount"], net);
    assert!(task_ids(&h.ok(Some(&s1), TASKS, json!({})).await).is_empty());
    assert!(task_ids(&h.ok(Some(&bank), TASKS, json!({})).await).is_empty());

    // The audit trail: who, what, when, which transaction — for the parties and the regulator only.
    let audit = "query($i:String,$s:String){ workflowAudit(instanceId:$i, subject:$s){ action actorOrg signer state txId height timeMs } }";
    let d = h.ok(Some(&bank), audit, json!({ "i": "APP-1" })).await;
    let trail = d["workflowAudit"].as_array().expect("trail");
    let steps: Vec<(&str, &str)> =
        trail.iter().map(|e| (e["action"].as_str().unwrap_or(""), e["actorOrg"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        steps,
        vec![
            ("ApplyFinancing", "S1"),
            ("RequestInfo", "BANK"),
            ("ProvideInfo", "S1"),
            ("CheckInvoices", "BANK"),
            ("ApproveFinancing", "BANK"),
            ("RecordDisbursement", "BANK"),
            ("ConfirmReceipt", "S1"),
        ],
        "{d}"
    );
    assert_eq!(trail[6]["txId"], json!(last_tx));
    assert!(trail
        .iter()
        .all(|e| e["timeMs"].as_i64().unwrap_or(0) > 0 && e["signer"].as_str().unwrap_or("").len() == 40));
    assert_eq!(
        h.ok(Some(&reg), audit, json!({ "s": "YX-WF" })).await["workflowAudit"].as_array().map(Vec::len),
        Some(7)
    );
    assert_eq!(h.ok(Some(&s2), audit, json!({ "i": "APP-1" })).await["workflowAudit"], json!([]));
    assert_eq!(h.ok(Some(&s2), APPS, json!({})).await["financingApplications"], json!([]));
    let r = h.gql(Some(&s2), "query{ workflowInstance(id:\"APP-1\"){ id } }", json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");
    let d = h
        .ok(
            Some(&s1),
            "query{ workflowInstance(id:\"APP-1\"){ state terminal nextSteps { call } audit { action } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["workflowInstance"]["terminal"], true);
    assert_eq!(d["workflowInstance"]["audit"].as_array().map(Vec::len), Some(7));

    // Bad input is typed and names the field.
    let r = h.gql(Some(&s1), "query{ workflowAudit { txId } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "instanceId", "{r}");
    let r = h.gql(Some(&s1), APPS, json!({ "f": { "state": "bogus" } })).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "filter.state", "{r}");
    let r = h
        .gql(
            Some(&s1),
            apply,
            json!({ "i": { "applicationId": "APP-2", "voucherId": "YX-WF", "funder": "BANK", "requestedRateBp": -1 } }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.requestedRateBp", "{r}");
    let r = h
        .gql(
            Some(&bank),
            "mutation{ approveFinancing(applicationId:\"NOPE\", discountRateBp:1, agreementRef:\"x\"){ txId } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");

    explorer(h, &s1, &last_tx).await;
}

async fn explorer(h: &Harness, token: &str, tx: &str) {
    let d = h.ok(None, "query{ chainStatus { chainId height blockHash timeMs indexedHeight validatorCount totalPower } validators { name address publicKey power } }", json!({})).await;
    assert_eq!(d["chainStatus"]["chainId"], "scf-gql-test");
    let height = d["chainStatus"]["height"].as_i64().expect("height");
    assert!(height >= 8, "{d}");
    assert_eq!(d["chainStatus"]["indexedHeight"], json!(height));
    assert_eq!(d["validators"][0]["name"], "dev");
    assert_eq!(d["validators"][0]["power"], 1);
    assert_eq!(d["validators"][0]["address"].as_str().map(str::len), Some(40));

    let q = "query($id:String!){ transaction(id:$id){ id outcome module events { kind attributes { name value } } \
        inclusionProof { verified index count blockHash header { height txRoot encoded } steps { sibling } } \
        block { height hash stateRoot txCount proposer certificate { height round blockHash signatures { validator signature } } } } }";
    let d = h.ok(Some(token), q, json!({ "id": tx })).await;
    let t = &d["transaction"];
    assert_eq!(t["outcome"], "success");
    assert_eq!(t["module"], "workflow");
    assert_eq!(t["events"][0]["kind"], "FinancingCompleted", "{d}");
    assert_eq!(t["inclusionProof"]["verified"], true);
    assert_eq!(t["inclusionProof"]["blockHash"], t["block"]["hash"]);
    assert!(t["block"]["certificate"].is_null(), "the dev chain has no consensus certificate");
    // An organisation that is not a party sees the transaction but not its events.
    let s2 = h.login("s2-admin", PASSWORD).await;
    assert_eq!(h.ok(Some(&s2), q, json!({ "id": tx })).await["transaction"]["events"], json!([]));

    // A block with a certificate (as the BFT node stores them) shows its signatures.
    let bh = t["block"]["height"].as_i64().expect("block height") as u64;
    let block = h.chain.store().block(bh).expect("block").expect("stored");
    let key = scf_ledger::crypto::KeyPair::generate().expect("key");
    let cert = scf_ledger::block::CommitCertificate {
        height: bh,
        round: 1,
        block_hash: block.hash(),
        signatures: vec![scf_ledger::block::CommitSignature {
            validator: key.address(),
            signature: key.sign(block.hash().0.as_slice()),
        }],
    };
    h.chain.store().set_certificate(bh, cert).expect("set certificate");
    let d = h.ok(Some(token), q, json!({ "id": tx })).await;
    let c = &d["transaction"]["block"]["certificate"];
    assert_eq!(c["round"], 1, "{d}");
    assert_eq!(c["blockHash"], d["transaction"]["block"]["hash"]);
    assert_eq!(c["signatures"][0]["validator"], json!(key.address().to_hex()));

    let r = h.gql(Some(token), "query{ transaction(id:\"not-hex\"){ id } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "id", "{r}");
    let r = h.gql(Some(token), &format!("query{{ transaction(id:\"{}\"){{ id }} }}", "0".repeat(64)), json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");
}

async fn governance(h: &Harness) {
    let core = h.login("core-admin", PASSWORD).await;
    let bank = h.login("bank-admin", PASSWORD).await;
    let reg = h.login("reg-admin", PASSWORD).await;
    let s2 = h.login("s2-admin", PASSWORD).await;
    let create = "mutation($u:String!,$r:UserRole!){ createUser(input:{username:$u, password:\"long enough pw\", role:$r}){ id address } }";
    let op = h.ok(Some(&core), create, json!({ "u": "core-gov-op", "r": "OPERATOR" })).await;
    let op_addr = op["createUser"]["address"].as_str().expect("address").to_string();
    let core_op = h.login("core-gov-op", "long enough pw").await;

    let d = h
        .ok(
            Some(&core),
            "query{ committee { members { org weight } passBp participationBp } chainStatus { height } }",
            json!({}),
        )
        .await;
    assert_eq!(d["committee"]["members"].as_array().map(Vec::len), Some(3), "{d}");
    let deadline = d["chainStatus"]["height"].as_i64().expect("height") + 50;
    let propose = "mutation($d:Int){ propose(input:{title:\"S1 加入委员会\", kind:{setMember:{orgId:\"S1\", weight:1}}, deadlineHeight:$d}){ txId events { kind attributes { name value } } } }";
    // Operators and non-members cannot propose.
    assert_eq!(error_code(&h.gql(Some(&core_op), propose, json!({ "d": deadline })).await), "FORBIDDEN");
    assert_eq!(error_code(&h.gql(Some(&s2), propose, json!({ "d": deadline })).await), "FORBIDDEN");
    let r = h.gql(Some(&core), propose, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.deadlineHeight", "{r}");
    let r = h.ok(Some(&core), propose, json!({ "d": deadline })).await;
    let id: i64 = r["propose"]["events"][0]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "proposal")
        .and_then(|a| a["value"].as_str())
        .and_then(|v| v.parse().ok())
        .expect("proposal id");

    let vote = "mutation($p:Int!,$b:Ballot!){ vote(proposalId:$p, ballot:$b){ txId } }";
    h.ok(Some(&core), vote, json!({ "p": id, "b": "YES" })).await;
    h.ok(Some(&bank), vote, json!({ "p": id, "b": "YES" })).await;
    assert_eq!(error_code(&h.gql(Some(&core_op), vote, json!({ "p": id, "b": "NO" })).await), "FORBIDDEN");
    let pq = "query($p:Int!){ proposal(id:$p){ id status kind proposer votes { org ballot } tally { yes no notVoted total } \
        deadline { height timeMs } decidedEarly outcomeNow closedHeight } }";
    let d = h.ok(Some(&s2), pq, json!({ "p": id })).await;
    let p = &d["proposal"];
    assert_eq!(p["status"], "open", "{d}");
    assert_eq!(p["kind"], "set_member");
    assert_eq!(p["tally"], json!({ "yes": 2, "no": 0, "notVoted": 1, "total": 3 }));
    assert_eq!(p["deadline"]["height"], json!(deadline));
    assert_eq!(p["decidedEarly"], false, "2 of 3 is below the 66.67 % pass threshold");
    h.ok(Some(&reg), vote, json!({ "p": id, "b": "YES" })).await;
    let open = h.ok(Some(&core), "query{ proposals(filter:{status:OPEN}){ id decidedEarly } }", json!({})).await;
    assert_eq!(open["proposals"], json!([{ "id": id, "decidedEarly": true }]));
    // Anyone (here an operator) closes a decided proposal; it executes.
    h.ok(Some(&core_op), "mutation($p:Int!){ closeProposal(proposalId:$p){ txId } }", json!({ "p": id })).await;
    let d = h.ok(Some(&s2), pq, json!({ "p": id })).await;
    assert_eq!(d["proposal"]["status"], "executed", "{d}");
    assert!(d["proposal"]["closedHeight"].as_i64().is_some());
    assert_eq!(
        h.ok(Some(&core), "query{ proposals(filter:{status:OPEN}){ id } }", json!({})).await["proposals"],
        json!([])
    );
    let d = h.ok(Some(&core), "query{ committee { members { org } } }", json!({})).await;
    assert!(d["committee"]["members"].as_array().expect("members").iter().any(|m| m["org"] == "S1"), "{d}");
    let r = h.gql(Some(&core), pq, json!({ "p": 999 })).await;
    assert_eq!(error_code(&r), "NOT_FOUND");
    let r = h.gql(Some(&core), "mutation{ vote(proposalId:999, ballot:YES){ txId } }", json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");

    // Key expiry: the admin records when the operator's key expires; CORE and the regulator see the
    // warning, BANK does not.
    let now =
        h.ok(None, "query{ chainStatus { timeMs } }", json!({})).await["chainStatus"]["timeMs"].as_i64().expect("t");
    let set = "mutation($a:String!,$t:Int){ setKeyExpiry(address:$a, expiresAtMs:$t){ txId } }";
    assert_eq!(
        error_code(&h.gql(Some(&core_op), set, json!({ "a": op_addr, "t": now + 10 * 86_400_000 })).await),
        "FORBIDDEN"
    );
    h.ok(Some(&core), set, json!({ "a": op_addr, "t": now + 10 * 86_400_000 })).await;
    let q = "query{ expiringKeys(withinDays:30){ address org expiresAtMs msLeft expired } }";
    let d = h.ok(Some(&core), q, json!({})).await;
    assert_eq!(d["expiringKeys"][0]["address"], json!(op_addr), "{d}");
    assert_eq!(d["expiringKeys"][0]["org"], "CORE");
    assert_eq!(d["expiringKeys"][0]["expired"], false);
    assert_eq!(h.ok(Some(&reg), q, json!({})).await["expiringKeys"].as_array().map(Vec::len), Some(1));
    assert_eq!(h.ok(Some(&bank), q, json!({})).await["expiringKeys"], json!([]));
    assert_eq!(
        h.ok(Some(&core), "query{ expiringKeys(withinDays:5){ address } }", json!({})).await["expiringKeys"],
        json!([])
    );
    let r = h.gql(Some(&core), "query{ expiringKeys(withinDays:-1){ address } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "withinDays");
    let r = h.gql(Some(&core), set, json!({ "a": "zz", "t": 1 })).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "address");

    org_cas(h, &core, &bank, &reg, &s2).await;
}

/// The committee trusts BANK's CA (proposed as PEM), then revokes a certificate it issued; both show
/// up in chain-state queries; malformed certificates, fingerprints and reasons are named at their field.
async fn org_cas(h: &Harness, core: &str, bank: &str, reg: &str, s2: &str) {
    let d = h.ok(Some(core), "query{ chainStatus { height timeMs } }", json!({})).await;
    let deadline = d["chainStatus"]["height"].as_i64().expect("height") + 50;
    let now = d["chainStatus"]["timeMs"].as_u64().expect("time");
    let start = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now);
    let ca = scf_ca::Authority::init(
        "BANK",
        None,
        scf_ca::Validity::days_from(start, 3650),
        scf_ledger::crypto::KeyPair::from_seed("BANK CA"),
    )
    .expect("ca");
    let pem = ca.certificate().to_pem().expect("pem");
    let fp = scf_ledger::crypto::Hash32::of(ca.certificate().der()).to_hex();
    let propose =
        "mutation($k:ProposalKindInput!,$d:Int){ propose(input:{title:\"BANK CA\", kind:$k, deadlineHeight:$d}){ \
        events { kind attributes { name value } } } }";
    let field = |r: &Value| r["errors"][0]["extensions"]["field"].as_str().unwrap_or("<none>").to_string();
    let r = h
        .gql(Some(core), propose, json!({ "k": { "addOrgCa": { "orgId": "BANK", "certificatePem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" } }, "d": deadline }))
        .await;
    assert_eq!(
        (error_code(&r), field(&r)),
        ("BAD_USER_INPUT".to_string(), "input.kind.addOrgCa.certificatePem".to_string()),
        "{r}"
    );
    let r = h
        .gql(
            Some(core),
            propose,
            json!({ "k": { "removeOrgCa": { "orgId": "BANK", "fingerprint": "12ab" } }, "d": deadline }),
        )
        .await;
    assert_eq!(field(&r), "input.kind.removeOrgCa.fingerprint", "{r}");
    let bad_reason = json!({ "revokeCertificate": { "caFingerprint": fp, "serial": 7, "reason": "lostIt" } });
    let r = h.gql(Some(core), propose, json!({ "k": bad_reason, "d": deadline })).await;
    assert_eq!(field(&r), "input.kind.revokeCertificate.reason", "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap_or("").contains("keyCompromise"), "{r}");
    let zero = json!({ "revokeCertificate": { "caFingerprint": fp, "serial": 0, "reason": "keyCompromise" } });
    assert_eq!(
        field(&h.gql(Some(core), propose, json!({ "k": zero, "d": deadline })).await),
        "input.kind.revokeCertificate.serial"
    );

    let pass = |kind: Value| async move {
        let r = h.ok(Some(core), propose, json!({ "k": kind, "d": deadline })).await;
        let id: i64 = r["propose"]["events"][0]["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["name"] == "proposal")
            .and_then(|a| a["value"].as_str())
            .and_then(|v| v.parse().ok())
            .expect("proposal id");
        let vote = "mutation($p:Int!){ vote(proposalId:$p, ballot:YES){ txId } }";
        for t in [core, bank, reg] {
            h.ok(Some(t), vote, json!({ "p": id })).await;
        }
        h.ok(Some(core), "mutation($p:Int!){ closeProposal(proposalId:$p){ txId } }", json!({ "p": id })).await;
        id
    };
    let id = pass(json!({ "addOrgCa": { "orgId": "BANK", "certificatePem": pem } })).await;
    let pq = "query($p:Int!){ proposal(id:$p){ status kind kindDetail certificate { fingerprint subject issuer notAfterMs problem } } }";
    let d = h.ok(Some(s2), pq, json!({ "p": id })).await;
    let p = &d["proposal"];
    assert_eq!((p["status"].as_str(), p["kind"].as_str()), (Some("executed"), Some("add_org_ca")), "{d}");
    assert_eq!(p["certificate"]["fingerprint"], json!(fp));
    assert_eq!(p["certificate"]["subject"], json!(ca.certificate().subject()));
    assert_eq!(p["certificate"]["problem"], Value::Null);
    let cas = h
        .ok(
            Some(s2),
            "query{ certificateAuthorities { org subject fingerprint notAfterMs recordedHeight } }",
            json!({}),
        )
        .await;
    let bank_ca = cas["certificateAuthorities"]
        .as_array()
        .expect("cas")
        .iter()
        .find(|c| c["fingerprint"] == json!(fp))
        .cloned()
        .unwrap_or_else(|| panic!("BANK's CA is listed: {cas}"));
    assert_eq!(bank_ca["org"], "BANK");
    assert!(bank_ca["recordedHeight"].as_i64().unwrap_or(0) > 0, "{bank_ca}");
    assert!(bank_ca["notAfterMs"].as_i64().unwrap_or(0) > now as i64, "{bank_ca}");

    let id = pass(
        json!({ "revokeCertificate": { "caFingerprint": fp.to_uppercase(), "serial": 7, "reason": "keycompromise" } }),
    )
    .await;
    let d = h.ok(Some(s2), pq, json!({ "p": id })).await;
    assert_eq!(
        (d["proposal"]["kind"].as_str(), d["proposal"]["status"].as_str()),
        (Some("revoke_certificate"), Some("executed")),
        "{d}"
    );
    assert_eq!(d["proposal"]["certificate"], Value::Null);
    let r =
        h.ok(Some(s2), "query{ revokedCertificates { caFingerprint issuer serial reason height } }", json!({})).await;
    let rev = &r["revokedCertificates"];
    assert_eq!(rev.as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(rev[0]["caFingerprint"], json!(fp));
    assert_eq!(rev[0]["issuer"], json!(ca.certificate().subject()));
    assert_eq!((rev[0]["serial"].as_i64(), rev[0]["reason"].as_str()), (Some(7), Some("keyCompromise")));
    assert_eq!(error_code(&h.gql(None, "query{ certificateAuthorities { org } }", json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_governance_explorer_sqlite() {
    let h = start(None).await;
    financing(&h).await;
    governance(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_governance_explorer_postgres() {
    let Some(pg) = pg::Postgres::start() else { return };
    let h = start(Some(pg.url("workflows"))).await;
    financing(&h).await;
    governance(&h).await;
}
