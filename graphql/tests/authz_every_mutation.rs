//! Authorisation of EVERY mutation the schema serves, by role. The mutations are enumerated from the
//! schema itself (introspection), so a new mutation without a row in [`RULES`] fails this test.
//!
//! Each mutation is called with well-typed arguments generated from its signature:
//! - without a token → UNAUTHENTICATED (a few are public by design, see the row);
//! - by a viewer of the entitled organisation → FORBIDDEN (viewers change nothing);
//! - by an operator of an organisation that lacks the role (or is not the party) → FORBIDDEN;
//! - by the entitled organisation's admin and operator → past the API's authorisation (never
//!   FORBIDDEN/UNAUTHENTICATED; the chain may still refuse the generated arguments on business grounds,
//!   e.g. NOT_FOUND). Admin-only mutations are FORBIDDEN to operators.
//!
//! The workflow steps run against a real financing application, so the party checks (the funder acts,
//! not the supplier) are exercised. End-to-end success of each workflow step by its party is covered in
//! `workflow_governance.rs`.

mod common;

use std::collections::BTreeMap;

use common::*;
use scf_domain::governance::{GovGenesis, Member};
use scf_domain::org::Role;
use serde_json::{json, Map, Value};

/// Who may call a mutation.
#[derive(Clone, Copy)]
enum Who {
    /// Anyone, signed in or not (the resolver decides on the arguments).
    Public,
    /// Any signed-in user (viewers included).
    AnyUser,
    /// Admins and operators of `entitled`; an operator of `other` is FORBIDDEN (`None`: any member may).
    Org { entitled: &'static str, other: Option<&'static str> },
    /// Admins of `entitled` only; operators FORBIDDEN; an admin of `other` FORBIDDEN.
    Admin { entitled: &'static str, other: Option<&'static str> },
}

const fn org(entitled: &'static str, other: &'static str) -> Who {
    Who::Org { entitled, other: Some(other) }
}
const fn member(entitled: &'static str) -> Who {
    Who::Org { entitled, other: None }
}

/// One row per mutation: (name, who, argument overrides as JSON).
const RULES: &[(&str, Who, &str)] = &[
    ("login", Who::Public, "{}"),
    ("logout", Who::AnyUser, "{}"),
    ("createUser", Who::Admin { entitled: "CORE", other: None }, "{}"),
    // One's own password (a wrong current one is BAD_USER_INPUT); disabling is for admins, and another
    // organisation's user is not found rather than forbidden (its existence is not disclosed).
    ("changePassword", Who::AnyUser, "{}"),
    ("disableUser", Who::Admin { entitled: "CORE", other: None }, "{}"),
    ("submitSignedTransaction", Who::Public, "{}"),
    // Vouchers and invoices.
    ("issueVoucher", org("CORE", "S1"), "{}"),
    ("signForVoucher", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("rejectVoucher", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("splitVoucher", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("transferVoucher", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("offerFinancing", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("cancelFinancingOffer", org("S1", "CORE"), r#"{"voucherId":"YX-AZ"}"#),
    ("acceptFinancing", org("BANK", "CORE"), "{}"),
    ("recordPayment", org("CORE", "S1"), r#"{"rootId":"YX-AZ"}"#),
    ("markOverdue", member("CORE"), "{}"),
    ("freezeVoucher", org("REG", "CORE"), "{}"),
    ("unfreezeVoucher", org("REG", "CORE"), "{}"),
    ("issueInvoice", member("S1"), "{}"),
    ("issueInvoiceUbl", member("S1"), "{}"),
    ("bookInvoice", member("CORE"), "{}"),
    ("reverseInvoice", member("S1"), "{}"),
    // Workflows: steps on application APP-AZ (S1 → BANK), made by the party the process table names.
    ("applyForFinancing", org("S1", "BANK"), r#"{"input":{"voucherId":"YX-AZ"}}"#),
    ("requestFinancingInfo", org("BANK", "S1"), r#"{"applicationId":"APP-AZ"}"#),
    ("provideFinancingInfo", org("S1", "BANK"), r#"{"applicationId":"APP-AZ"}"#),
    ("checkFinancingInvoices", org("BANK", "S2"), r#"{"applicationId":"APP-AZ"}"#),
    ("approveFinancing", org("BANK", "S2"), r#"{"applicationId":"APP-AZ"}"#),
    ("rejectFinancing", org("BANK", "S1"), r#"{"applicationId":"APP-AZ"}"#),
    ("withdrawFinancing", org("S1", "BANK"), r#"{"applicationId":"APP-AZ"}"#),
    ("recordDisbursement", org("BANK", "CORE"), r#"{"applicationId":"APP-AZ"}"#),
    ("confirmFinancingReceipt", org("S1", "BANK"), r#"{"applicationId":"APP-AZ"}"#),
    ("applyForPledge", member("S1"), "{}"),
    ("confirmPledgeGoods", member("WH"), "{}"),
    ("rejectPledge", member("WH"), "{}"),
    ("withdrawPledge", member("S1"), "{}"),
    ("approvePledge", member("BANK"), "{}"),
    ("recordPledgeRepayment", member("S1"), "{}"),
    ("releasePledge", member("BANK"), "{}"),
    ("openMarginCall", member("CORE"), "{}"),
    ("resolveMarginCall", member("BANK"), "{}"),
    ("escalateOverdue", member("CORE"), "{}"),
    ("expireWorkflowDeadline", member("CORE"), "{}"),
    // Governance and keys: admins of committee members.
    ("propose", Who::Admin { entitled: "CORE", other: Some("S1") }, r#"{"input":{"deadlineHeight":100000}}"#),
    ("vote", Who::Admin { entitled: "BANK", other: Some("S2") }, "{}"),
    ("closeProposal", member("S1"), "{}"),
    ("setKeyExpiry", Who::Admin { entitled: "CORE", other: None }, "{}"),
    // Integration: each admin manages its own organisation's client keys and webhook endpoints.
    ("registerAccountKey", Who::Admin { entitled: "CORE", other: None }, "{}"),
    ("registerWebhook", Who::Admin { entitled: "CORE", other: None }, "{}"),
    ("deleteWebhook", Who::Admin { entitled: "CORE", other: None }, "{}"),
    ("redeliverWebhook", Who::Admin { entitled: "CORE", other: None }, "{}"),
    // Warehouse receipts.
    ("issueWarehouseReceipt", org("WH", "S1"), r#"{"input":{"identity":{"lot":"L1"}}}"#),
    ("endorseWarehouseReceipt", member("S1"), "{}"),
    ("splitWarehouseReceipt", member("S1"), "{}"),
    ("pledgeWarehouseReceipt", member("S1"), "{}"),
    ("releaseWarehouseReceipt", org("BANK", "S1"), "{}"),
    ("withdrawWarehouseReceipt", member("S1"), "{}"),
    ("flagWarehouseReceipt", org("WH", "S1"), "{}"),
    ("clearWarehouseReceiptFlag", org("WH", "S1"), "{}"),
    ("freezeWarehouseReceipt", org("REG", "WH"), "{}"),
    ("unfreezeWarehouseReceipt", org("REG", "WH"), "{}"),
    // Devices and provenance.
    ("registerDevice", member("WH"), r#"{"input":{"binding":{"location":{"warehouse":"W1","zone":"A","bin":"1"}}}}"#),
    ("rebindDevice", member("WH"), r#"{"binding":{"location":{"warehouse":"W1","zone":"A","bin":"1"}}}"#),
    ("setDeviceRules", member("WH"), "{}"),
    ("revokeDevice", member("WH"), "{}"),
    ("authoriseIngestor", member("WH"), "{}"),
    ("revokeIngestor", member("WH"), "{}"),
    ("raiseDeviceAlert", member("WH"), "{}"),
    ("clearDeviceAlert", member("WH"), "{}"),
    ("captureEpcis", member("WH"), "{}"),
    // A lot's recall: the regulator passes the API for any lot (the chain then finds it commissioned by
    // nobody); the brand-owner check of other organisations is covered in consumer.rs.
    ("recallLot", member("REG"), r#"{"gtin":"06901234000337","lot":"L1","reason":"r"}"#),
    ("describeLocations", member("WH"), r#"{"locations":[{"id":"urn:epc:id:sgln:6901234.00002.0","name":"n"}]}"#),
    // The serial page records an anonymous scan: public and rate-limited.
    ("scanSerial", Who::Public, r#"{"gtin":"06901234000337","serial":"S1","lot":null,"location":null}"#),
];

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

fn type_decl(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_decl(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_decl(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("String").to_string(),
    }
}

fn named(t: &Value) -> &Value {
    if t["ofType"].is_null() {
        t
    } else {
        named(&t["ofType"])
    }
}

/// A plausible value for a field, by type and (for strings and ints) by name, so that resolvers reach
/// their authorisation checks rather than stopping at an obviously malformed argument.
fn sample(name: &str, t: &Value, types: &BTreeMap<String, Value>, key_hex: &str) -> Value {
    match t["kind"].as_str() {
        Some("NON_NULL") => return sample(name, &t["ofType"], types, key_hex),
        Some("LIST") => return json!([]),
        _ => {}
    }
    let tn = t["name"].as_str().unwrap_or("");
    let lname = name.to_lowercase();
    match tn {
        "Int" => {
            if lname.contains("ms") {
                json!(1_767_600_000_000i64)
            } else if lname.contains("bp") {
                json!(400)
            } else {
                json!(1000)
            }
        }
        "Float" => json!(1.0),
        "Boolean" => json!(false),
        "String" | "ID" => {
            let s = if lname.contains("date") || lname == "due" || lname.contains("validuntil") {
                "2026-03-01".to_string()
            } else if lname.contains("publickey") || lname.contains("newkey") {
                key_hex.to_string()
            } else if lname.contains("address") {
                "0".repeat(40)
            } else if lname == "sm3" || lname.contains("hash") || lname == "leaf" || lname.ends_with("root") {
                "0".repeat(64)
            } else if lname == "number" || lname.contains("rednumber") {
                "26310000000000000999".into()
            } else if lname.contains("currency") {
                "CNY".into()
            } else if lname.contains("hex") {
                "00".into()
            } else if lname == "to" || lname.contains("funder") || lname.contains("org") {
                "S2".into()
            } else {
                "AZ-1".into()
            };
            json!(s)
        }
        _ => match types.get(tn) {
            Some(ty) if ty["kind"] == "ENUM" => ty["enumValues"][0]["name"].clone(),
            Some(ty) if ty["kind"] == "INPUT_OBJECT" => {
                let fields = ty["inputFields"].as_array().cloned().unwrap_or_default();
                let mut m = Map::new();
                if ty["isOneOf"] == true {
                    if let Some(f) = fields.first() {
                        m.insert(
                            f["name"].as_str().unwrap_or("").into(),
                            sample(f["name"].as_str().unwrap_or(""), &f["type"], types, key_hex),
                        );
                    }
                } else {
                    for f in fields.iter().filter(|f| f["type"]["kind"] == "NON_NULL") {
                        let n = f["name"].as_str().unwrap_or("");
                        m.insert(n.into(), sample(n, &f["type"], types, key_hex));
                    }
                }
                Value::Object(m)
            }
            _ => json!("AZ-1"),
        },
    }
}

/// Deep-merge `over` into `base`.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

struct Call {
    query: String,
    vars: Value,
}

fn calls(schema: &Value, key_hex: &str) -> BTreeMap<String, Call> {
    let types: BTreeMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or("").to_string(), t.clone()))
        .collect();
    let mut out = BTreeMap::new();
    for f in schema["mutationType"]["fields"].as_array().expect("mutation fields") {
        let name = f["name"].as_str().expect("name").to_string();
        let mut decls = Vec::new();
        let mut args = Vec::new();
        let mut vars = Map::new();
        for a in f["args"].as_array().expect("args") {
            if a["type"]["kind"] != "NON_NULL" {
                continue;
            }
            let an = a["name"].as_str().expect("arg");
            decls.push(format!("${an}:{}", type_decl(&a["type"])));
            args.push(format!("{an}:${an}"));
            vars.insert(an.into(), sample(an, &a["type"], &types, key_hex));
        }
        let ret = named(&f["type"]);
        let selection = if ret["kind"] == "OBJECT" { " { __typename }" } else { "" };
        let (d, a) = if decls.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("({})", decls.join(",")), format!("({})", args.join(",")))
        };
        out.insert(
            name.clone(),
            Call { query: format!("mutation{d}{{ {name}{a}{selection} }}"), vars: Value::Object(vars) },
        );
    }
    out
}

fn code(r: &Value) -> String {
    error_code(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutation_by_role() {
    let h = Harness::start_with(None, vec![common::org("WH", &[Role::WarehouseOperator], false)], |g| {
        let gov = GovGenesis {
            members: ["CORE", "BANK", "REG"].iter().map(|o| Member { org: o.to_string(), weight: 1 }).collect(),
            config: Default::default(),
        };
        g.app_state.insert(scf_domain::governance::MODULE.into(), serde_json::to_value(gov).expect("gov"));
    })
    .await;
    let create = "mutation($u:String!,$r:UserRole!){ createUser(input:{username:$u, password:\"long enough pw\", role:$r}){ id } }";
    let mut tokens: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for o in ["CORE", "S1", "S2", "BANK", "REG", "WH"] {
        let lower = o.to_lowercase();
        let admin = h.login(&format!("{lower}-admin"), PASSWORD).await;
        h.ok(Some(&admin), create, json!({ "u": format!("{lower}-op"), "r": "OPERATOR" })).await;
        h.ok(Some(&admin), create, json!({ "u": format!("{lower}-viewer"), "r": "VIEWER" })).await;
        let op = h.login(&format!("{lower}-op"), "long enough pw").await;
        let viewer = h.login(&format!("{lower}-viewer"), "long enough pw").await;
        tokens.insert(o, BTreeMap::from([("admin", admin), ("operator", op), ("viewer", viewer)]));
    }
    let tok = |o: &str, r: &str| tokens[o][r].clone();

    // A voucher S1 holds and a financing application APP-AZ (S1 → BANK), so party checks have a subject.
    let inv = "26310000000000000301";
    h.ok(
        Some(&tok("S1", "admin")),
        ISSUE_INVOICE,
        json!({ "i": invoice_input(inv, "S1", "CORE", 1_000_000, "2026-01-05") }),
    )
    .await;
    h.ok(
        Some(&tok("CORE", "admin")),
        ISSUE_VOUCHER,
        json!({ "i": { "voucherNo": "YX-AZ", "to": "S1", "amount": 1_000_000, "dueDate": "2026-03-01", "contractRef": "c", "invoices": [inv] } }),
    )
    .await;
    h.ok(Some(&tok("S1", "admin")), "mutation{ signForVoucher(voucherId:\"YX-AZ\"){ txId } }", json!({})).await;
    h.ok(
        Some(&tok("S1", "admin")),
        "mutation{ applyForFinancing(input:{applicationId:\"APP-AZ\", voucherId:\"YX-AZ\", funder:\"BANK\", requestedRateBp:500}){ txId } }",
        json!({}),
    )
    .await;

    let q = format!(
        "query {{ __schema {{ mutationType {{ fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} \
         types {{ name kind isOneOf enumValues {{ name }} inputFields {{ name type {{ {TYPE_REF} }} }} }} }} }}"
    );
    let schema = h.ok(None, &q, json!({})).await["__schema"].clone();
    let key_hex = scf_ledger::crypto::KeyPair::generate().expect("key").public().to_hex();
    let all = calls(&schema, &key_hex);
    let rules: BTreeMap<&str, (Who, &str)> = RULES.iter().map(|(n, w, o)| (*n, (*w, *o))).collect();
    let missing: Vec<&String> = all.keys().filter(|n| !rules.contains_key(n.as_str())).collect();
    assert!(missing.is_empty(), "mutations without an authorisation row: {missing:?}");
    let stale: Vec<&&str> = rules.keys().filter(|n| !all.contains_key(**n)).collect();
    assert!(stale.is_empty(), "rows for mutations the schema no longer has: {stale:?}");

    let me = h.ok(Some(&tok("CORE", "operator")), "query{ me { address } }", json!({})).await;
    let core_op_address = me["me"]["address"].as_str().expect("address").to_string();
    let mut checked = 0;
    for (name, call) in &all {
        let (who, over) = rules[name.as_str()];
        let mut vars = call.vars.clone();
        merge(&mut vars, &serde_json::from_str::<Value>(over).expect("override json"));
        if name == "setKeyExpiry" {
            // A real account of the admin's organisation (the chain refuses unknown ones).
            merge(&mut vars, &json!({ "address": core_op_address }));
        }
        let run = |token: Option<String>| {
            let vars = vars.clone();
            let query = call.query.clone();
            let h = &h;
            async move { h.gql(token.as_deref(), &query, vars).await }
        };
        let passes = |r: &Value, who: &str| {
            let c = code(r);
            assert!(
                c != "FORBIDDEN" && c != "UNAUTHENTICATED" && c != "GRAPHQL_VALIDATION_FAILED",
                "{name} by {who} must pass the API's authorisation: {r}"
            );
        };
        match who {
            Who::Public => {
                let r = run(None).await;
                assert!(code(&r) != "FORBIDDEN" && code(&r) != "GRAPHQL_VALIDATION_FAILED", "{name} anonymously: {r}");
            }
            Who::AnyUser => {
                assert_eq!(code(&run(None).await), "UNAUTHENTICATED", "{name} anonymously");
                passes(&run(Some(tok("S2", "viewer"))).await, "a viewer");
            }
            Who::Org { entitled, other } | Who::Admin { entitled, other } => {
                let admin_only = matches!(who, Who::Admin { .. });
                let r = run(None).await;
                assert_eq!(code(&r), "UNAUTHENTICATED", "{name} anonymously: {r}");
                let r = run(Some(tok(entitled, "viewer"))).await;
                assert_eq!(code(&r), "FORBIDDEN", "{name} by a {entitled} viewer: {r}");
                let r = run(Some(tok(entitled, "operator"))).await;
                if admin_only {
                    assert_eq!(code(&r), "FORBIDDEN", "{name} by a {entitled} operator: {r}");
                } else {
                    passes(&r, &format!("a {entitled} operator"));
                }
                if let Some(o) = other {
                    let role = if admin_only { "admin" } else { "operator" };
                    let r = run(Some(tok(o, role))).await;
                    assert_eq!(code(&r), "FORBIDDEN", "{name} by a {o} {role}: {r}");
                }
                // Last, so that a call that succeeds does not change what the others see.
                passes(&run(Some(tok(entitled, "admin"))).await, &format!("a {entitled} admin"));
            }
        }
        checked += 1;
    }
    assert_eq!(checked, all.len());
    assert!(checked >= 60, "only {checked} mutations enumerated");
}
