//! Test vectors the SDKs (`sdk/typescript`, `sdk/python`) check themselves against: a transaction body
//! in the ledger's Borsh encoding with its signing bytes, id and (deterministic) SM2 signature, module
//! call payloads, and a signed webhook. This test recomputes every vector with the ledger's own code
//! and fails when `sdk/testdata/vectors.json` no longer matches; `SCF_WRITE_SDK_VECTORS=1` rewrites it.

use std::path::PathBuf;

use scf_domain::date::Date;
use scf_domain::voucher::VoucherCall;
use scf_ledger::crypto::{sm3, KeyPair};
use scf_ledger::module::ModuleCall;
use scf_ledger::tx::{Call, TxBody};
use serde_json::{json, Value};

fn vectors() -> Value {
    let key = KeyPair::from_seed("scf-sdk-vectors");
    let issue = VoucherCall::Issue {
        voucher_no: "HSY-2026-0901".into(),
        to: "HLBRAKE".into(),
        amount: 30_000_000,
        currency: "CNY".into(),
        due_date: Date::parse("2026-12-31").expect("date"),
        contract_ref: "HS-CG-2026-0901".into(),
        invoices: vec!["26312000000000180901".into()],
        allow_over_six_months: false,
    };
    let sign_for = VoucherCall::SignFor { voucher_id: "HSY-2026-0901".into() };
    let body = TxBody {
        chain_id: "scf-demo".into(),
        sender: *key.public(),
        nonce: 7,
        expiry_height: 1_234,
        call: Call { module: VoucherCall::MODULE.into(), payload: issue.encode_payload() },
    };
    let signing = body.signing_bytes();
    let signed = body.clone().sign(&key);
    let webhook_body = br#"{"id":"wh_0011223344556677.1234","kind":"WORKFLOW_TASK","org":"HSFACTOR"}"#;
    let webhook_ts: i64 = 1_767_577_200_000;
    let webhook_id = "wh_0011223344556677.1234";
    let webhook_sig = key.sign(&scf_graphql::webhooks::signed_bytes(webhook_id, webhook_ts, webhook_body));
    json!({
        "about": "Written by graphql/tests/sdk_vectors.rs with the ledger's own code; SM2 signatures are deterministic (RFC 6979 style), with distinguishing ID 1234567812345678.",
        "key": {
            "secret": hex::encode(key.secret_bytes()),
            "public": key.public().to_hex(),
            "address": key.address().to_hex(),
        },
        "calls": {
            "voucherIssue": {
                "module": "voucher",
                "call": { "Issue": { "voucherNo": "HSY-2026-0901", "to": "HLBRAKE", "amount": 30_000_000, "currency": "CNY",
                    "dueDate": "2026-12-31", "dueDays": Date::parse("2026-12-31").expect("date").0,
                    "contractRef": "HS-CG-2026-0901", "invoices": ["26312000000000180901"], "allowOverSixMonths": false } },
                "payload": hex::encode(issue.encode_payload()),
            },
            "voucherSignFor": {
                "module": "voucher",
                "call": { "SignFor": { "voucherId": "HSY-2026-0901" } },
                "payload": hex::encode(sign_for.encode_payload()),
            },
        },
        "tx": {
            "chainId": "scf-demo",
            "nonce": 7,
            "expiryHeight": 1_234,
            "call": "voucherIssue",
            "body": hex::encode(borsh::to_vec(&body).expect("borsh")),
            "signingBytes": hex::encode(&signing),
            "id": hex::encode(sm3(&signing)),
            "signature": signed.signature.to_hex(),
            "signed": hex::encode(signed.to_bytes()),
        },
        "webhook": {
            "id": webhook_id,
            "timestamp": webhook_ts,
            "body": String::from_utf8_lossy(webhook_body),
            "signedBytes": hex::encode(scf_graphql::webhooks::signed_bytes(webhook_id, webhook_ts, webhook_body)),
            "signature": format!("sm2={}", webhook_sig.to_hex()),
            "publicKey": key.public().to_hex(),
        },
    })
}

#[test]
fn sdk_vectors_match_the_ledger() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdk/testdata/vectors.json");
    let now = vectors();
    let text = serde_json::to_string_pretty(&now).expect("json") + "\n";
    if std::env::var_os("SCF_WRITE_SDK_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &text).expect("write vectors");
        return;
    }
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("sdk/testdata/vectors.json (SCF_WRITE_SDK_VECTORS=1 writes it)"),
    )
    .expect("json");
    assert_eq!(stored, now, "sdk/testdata/vectors.json is stale: rerun with SCF_WRITE_SDK_VECTORS=1");
}
