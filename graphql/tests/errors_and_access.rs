//! Typed errors for malformed queries and inputs, and the authorisation table: every mutation × user
//! role (admin, operator, viewer), plus the organisation role some calls need.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_and_inputs_get_typed_errors() {
    let h = Harness::start(None).await;
    let core = h.login("core-admin", PASSWORD).await;

    let r = h.gql(Some(&core), "query { vouchers(first: 2 { edges }", json!({})).await;
    assert_eq!(error_code(&r), "GRAPHQL_PARSE_FAILED", "{r}");
    let r = h.gql(Some(&core), "query { noSuchField }", json!({})).await;
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");
    // One voucher per level, so that only the depth (not the lists' weight) is over its limit.
    let deep =
        format!("query {{ voucher(id:\"X\") {{ {}id{} }} }}", "lineage(first: 1) { ".repeat(14), " }".repeat(14));
    let r = h.gql(Some(&core), &deep, json!({})).await;
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap_or("").contains("nested too deep"), "{r}");

    let r = h.gql(None, "query { vouchers { edges { node { id } } } }", json!({})).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
    let r = h
        .gql(None, "mutation { login(username:\"core-admin\", password:\"wrong password\") { token } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");

    let r = h
        .gql(
            Some(&core),
            ISSUE_VOUCHER,
            json!({ "i": { "voucherNo": "YX-1", "to": "S1", "amount": 100, "dueDate": "2026-13-45", "contractRef": "c", "invoices": [] } }),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.dueDate");
    let r = h
        .gql(
            Some(&core),
            ISSUE_VOUCHER,
            json!({ "i": { "voucherNo": "YX-1", "to": "S1", "amount": -5, "dueDate": "2026-03-01", "contractRef": "c", "invoices": [] } }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.amount");
    let r = h.gql(Some(&core), "query { vouchers(first: 1000) { edges { cursor } } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "first");
    let r = h.gql(Some(&core), "mutation { submitSignedTransaction(signedTxHex: \"zz\") { txId } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "signedTxHex");
    let r = h.gql(Some(&core), "mutation { submitSignedTransaction(signedTxHex: \"00ff\") { txId } }", json!({})).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");

    // A domain rule refusal keeps its rule code: S1 cannot sign for a voucher that does not exist.
    let s1 = h.login("s1-admin", PASSWORD).await;
    let r = h.gql(Some(&s1), "mutation { signForVoucher(voucherId:\"NOPE\") { txId } }", json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");

    // Username taken → CONFLICT.
    let q = "mutation($u:String!){ createUser(input:{username:$u, password:\"long enough pw\", role:OPERATOR}){ id } }";
    let r = h.gql(Some(&core), q, json!({ "u": "s1-admin" })).await;
    assert_eq!(error_code(&r), "CONFLICT");

    // Request size limit: a body over the limit is refused before parsing.
    // (On a client of its own: the server answers before reading the body and closes the connection,
    // which a pooled connection reused for the next request would then find closed.)
    let big = "x".repeat(300 * 1024);
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", h.url))
        .json(&json!({ "query": format!("query {{ me {{ id }} }} # {big}") }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 413);

    // Health and metrics.
    let health: serde_json::Value =
        h.client.get(format!("{}/healthz", h.url)).send().await.expect("healthz").json().await.expect("json");
    assert_eq!(health["status"], "ok");
    let metrics = h.client.get(format!("{}/metrics", h.url)).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("scf_graphql_requests_total"), "{metrics}");
}

/// Every mutation × role. Each mutation is tried by the admin, an operator and a viewer of the
/// organisation entitled to make it: viewers get FORBIDDEN, admins and operators pass the API's checks
/// (the chain may still refuse on business grounds, e.g. NOT_FOUND, but never FORBIDDEN). The same call
/// by an organisation without the right (not the holder, not a core enterprise, not the regulator) is
/// FORBIDDEN too. Only admins create users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorisation_table() {
    let h = Harness::start(None).await;
    let create = "mutation($u:String!,$r:UserRole!){ createUser(input:{username:$u, password:\"long enough pw\", role:$r}){ id address } }";
    let mut tokens = std::collections::BTreeMap::new();
    for org in ["CORE", "S1", "BANK", "REG"] {
        let lower = org.to_lowercase();
        let admin = h.login(&format!("{lower}-admin"), PASSWORD).await;
        h.ok(Some(&admin), create, json!({ "u": format!("{lower}-op"), "r": "OPERATOR" })).await;
        h.ok(Some(&admin), create, json!({ "u": format!("{lower}-viewer"), "r": "VIEWER" })).await;
        let op = h.login(&format!("{lower}-op"), "long enough pw").await;
        let viewer = h.login(&format!("{lower}-viewer"), "long enough pw").await;
        tokens.insert(org, [("admin", admin), ("operator", op), ("viewer", viewer)]);
    }
    let s1 = tokens["S1"][0].1.clone();
    let core = tokens["CORE"][0].1.clone();
    h.ok(
        Some(&s1),
        ISSUE_INVOICE,
        json!({ "i": invoice_input("26310000000000000009", "S1", "CORE", 1_000_000, "2026-01-05") }),
    )
    .await;
    h.ok(
        Some(&core),
        "mutation { issueVoucher(input:{voucherNo:\"YX-AUTH\", to:\"S1\", amount:100000, dueDate:\"2026-03-01\", contractRef:\"c\", invoices:[\"26310000000000000009\"]}) { txId } }",
        json!({}),
    )
    .await;

    let mut n = 0;
    let mut next_no = move || {
        n += 1;
        format!("YX-AUTH-{n}")
    };
    // (mutation, entitled organisation, an organisation that is not entitled, query)
    type Case = (&'static str, &'static str, &'static str, Box<dyn FnMut() -> String>);
    let cases: Vec<Case> = vec![
        (
            "issueVoucher",
            "CORE",
            "S1",
            Box::new(move || {
                format!("mutation {{ issueVoucher(input:{{voucherNo:\"{}\", to:\"S1\", amount:1000, dueDate:\"2026-03-01\", contractRef:\"c\", invoices:[\"26310000000000000009\"]}}) {{ txId }} }}", next_no())
            }),
        ),
        (
            "signForVoucher",
            "S1",
            "CORE",
            Box::new(|| "mutation { signForVoucher(voucherId:\"YX-AUTH\") { txId } }".into()),
        ),
        (
            "rejectVoucher",
            "S1",
            "CORE",
            Box::new(|| "mutation { rejectVoucher(voucherId:\"YX-AUTH\", reason:\"r\") { txId } }".into()),
        ),
        (
            "splitVoucher",
            "S1",
            "CORE",
            Box::new(|| {
                "mutation { splitVoucher(voucherId:\"YX-AUTH\", parts:[{to:\"S2\", amount:1}]) { txId } }".into()
            }),
        ),
        (
            "transferVoucher",
            "S1",
            "CORE",
            Box::new(|| "mutation { transferVoucher(voucherId:\"YX-AUTH\", to:\"S2\") { txId } }".into()),
        ),
        (
            "offerFinancing",
            "S1",
            "CORE",
            Box::new(|| {
                "mutation { offerFinancing(voucherId:\"YX-AUTH\", funder:\"BANK\", discountRateBp:400, agreementRef:\"a\") { txId } }".into()
            }),
        ),
        (
            "cancelFinancingOffer",
            "S1",
            "CORE",
            Box::new(|| "mutation { cancelFinancingOffer(voucherId:\"YX-AUTH\", reason:\"r\") { txId } }".into()),
        ),
        (
            "acceptFinancing",
            "BANK",
            "CORE",
            Box::new(|| "mutation { acceptFinancing(voucherId:\"YX-AUTH\") { txId } }".into()),
        ),
        (
            "recordPayment",
            "CORE",
            "S1",
            Box::new(|| "mutation { recordPayment(rootId:\"YX-AUTH\", paymentRef:\"p\") { txId } }".into()),
        ),
        ("markOverdue", "CORE", "REG", Box::new(|| "mutation { markOverdue(rootId:\"YX-AUTH\") { txId } }".into())),
        (
            "freezeVoucher",
            "REG",
            "CORE",
            Box::new(|| "mutation { freezeVoucher(voucherId:\"YX-AUTH-1\", reason:\"r\") { txId } }".into()),
        ),
        (
            "unfreezeVoucher",
            "REG",
            "CORE",
            Box::new(|| "mutation { unfreezeVoucher(voucherId:\"YX-AUTH-1\", reason:\"r\") { txId } }".into()),
        ),
        (
            "issueInvoiceUbl",
            "S1",
            "REG",
            Box::new(|| "mutation { issueInvoiceUbl(xml:\"<Invoice/>\") { txId } }".into()),
        ),
        (
            "bookInvoice",
            "CORE",
            "BANK",
            Box::new(|| {
                "mutation { bookInvoice(number:\"26310000000000000009\", bookingRef:\"B-1\") { txId } }".into()
            }),
        ),
        (
            "reverseInvoice",
            "S1",
            "BANK",
            Box::new(|| {
                "mutation { reverseInvoice(number:\"26310000000000000009\", redNumber:\"26310000000000000010\", amountWithTax:1, reason:\"r\") { txId } }".into()
            }),
        ),
    ];
    for (name, entitled, other, mut query) in cases {
        for (role, token) in tokens[entitled].iter() {
            let r = h.gql(Some(token), &query(), json!({})).await;
            let code = error_code(&r);
            if *role == "viewer" {
                assert_eq!(code, "FORBIDDEN", "{name} as {entitled} {role}: {r}");
            } else {
                assert!(code != "FORBIDDEN" && code != "UNAUTHENTICATED", "{name} as {entitled} {role} must pass: {r}");
                if name == "issueVoucher" {
                    assert!(r.get("errors").is_none(), "issueVoucher as {role}: {r}");
                }
            }
        }
        if ["markOverdue", "issueInvoiceUbl"].contains(&name) {
            continue; // any member may call these; the chain decides on the merits
        }
        let r = h.gql(Some(&tokens[other][1].1), &query(), json!({})).await;
        assert_eq!(error_code(&r), "FORBIDDEN", "{name} as {other} operator: {r}");
    }
    // createUser: admins only.
    for (role, token) in tokens["CORE"].iter() {
        let r = h.gql(Some(token), create, json!({ "u": format!("new-by-{role}"), "r": "VIEWER" })).await;
        if *role == "admin" {
            assert!(r.get("errors").is_none(), "createUser as admin: {r}");
        } else {
            assert_eq!(error_code(&r), "FORBIDDEN", "createUser as {role}: {r}");
        }
    }
}

/// The explorer shows who sent a transaction, to which module and why it failed only to the
/// organisations it concerns and the regulator; an uninvolved member sees the transaction redacted.
/// Unfiltered `epcisEvents` lists the caller's own captures only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_organisations_transactions_are_redacted_in_the_explorer() {
    let h = Harness::start(None).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let (core, s2, reg) = (
        h.login("core-admin", PASSWORD).await,
        h.login("s2-admin", PASSWORD).await,
        h.login("reg-admin", PASSWORD).await,
    );
    let r = h
        .ok(
            Some(&s1),
            ISSUE_INVOICE,
            json!({ "i": invoice_input("44000000000000090001", "S1", "CORE", 100_000, "2026-01-04") }),
        )
        .await;
    let id = r["issueInvoice"]["txId"].as_str().expect("tx id").to_string();
    let q = "query($id:String!){ transaction(id:$id){ id sender module outcome block { height transactions { id sender module } } } }";
    for (who, token) in [("sender S1", &s1), ("buyer CORE", &core), ("regulator", &reg)] {
        let t = h.ok(Some(token), q, json!({ "id": id })).await;
        assert!(t["transaction"]["sender"].is_string(), "{who} sees the sender: {t}");
        assert_eq!(t["transaction"]["module"], "invoice", "{who}");
    }
    let t = h.ok(Some(&s2), q, json!({ "id": id })).await;
    assert_eq!(t["transaction"]["id"], id.as_str());
    assert!(t["transaction"]["sender"].is_null() && t["transaction"]["module"].is_null(), "S2 is not a party: {t}");
    let in_block = t["transaction"]["block"]["transactions"].as_array().expect("block txs");
    assert!(in_block.iter().filter(|x| x["id"] == id.as_str()).all(|x| x["sender"].is_null()), "{t}");

    let events = "{ epcisEvents { edges { node { hash } } } }";
    let doc = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent", "eventTime": "2026-01-04T08:00:00Z", "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:6901234.000033.RD-1"], "action": "OBSERVE", "bizStep": "shipping"
    });
    let capture = "mutation($d:String!){ captureEpcis(document:$d){ hashes } }";
    h.ok(Some(&s1), capture, json!({ "d": doc.to_string() })).await;
    let count = |r: &serde_json::Value| r["epcisEvents"]["edges"].as_array().map(Vec::len);
    assert_eq!(count(&h.ok(Some(&s1), events, json!({})).await), Some(1));
    assert_eq!(count(&h.ok(Some(&s2), events, json!({})).await), Some(0), "S2 does not list S1's capture");
    assert_eq!(count(&h.ok(Some(&reg), events, json!({})).await), Some(1));
}
