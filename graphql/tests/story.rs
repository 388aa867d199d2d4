//! The voucher story through GraphQL as three users of three organisations, on SQLite and on a real
//! PostgreSQL server: S1 issues the invoice, CORE issues the voucher, S1 signs for and splits it, BANK
//! finances S1's part. Along the way each user sees only what the access rules allow.

mod common;
mod pg;

use common::*;
use serde_json::json;

const VOUCHER_IDS: &str = "query($f:VoucherFilter){ vouchers(filter:$f, first:50){ edges { node { id holder status amount } } pageInfo { hasNextPage } } }";

fn ids(d: &serde_json::Value) -> Vec<String> {
    d["vouchers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap_or("").to_string())
        .collect()
}

pub async fn voucher_story(h: &Harness) {
    let core = h.login("core-admin", PASSWORD).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let bank = h.login("bank-admin", PASSWORD).await;
    let inv = "26310000000000000001";

    // Trade background: S1 sold CORE goods for 1 000 000.00 yuan + 13 % VAT.
    h.ok(Some(&s1), ISSUE_INVOICE, json!({ "i": invoice_input(inv, "S1", "CORE", 100_000_000, "2026-01-05") })).await;
    // The API sealed the lines: only ciphertext is in state, for S1, CORE, REG and TAX.
    {
        use scf_client::Chain;
        let state = h.chain.state(None).expect("state");
        assert!(scf_domain::invoice::load_lines(state.as_ref(), inv).expect("read").is_none(), "clear lines in state");
        let sealed = scf_domain::invoice::load_sealed_lines(state.as_ref(), inv).expect("read").expect("sealed lines");
        let mut to: Vec<&str> = sealed.recipients().collect();
        to.sort_unstable();
        assert_eq!(to, vec!["CORE", "REG", "S1", "TAX"]);
    }
    let lines = "query{ invoice(number:\"26310000000000000001\"){ linesAccess lines { itemName } } }";
    let d = h.ok(Some(&core), lines, json!({})).await;
    assert_eq!(d["invoice"]["linesAccess"], "OPENED");
    assert_eq!(d["invoice"]["lines"][0]["itemName"], "*汽车零部件*制动盘");
    let issued = h
        .ok(
            Some(&core),
            ISSUE_VOUCHER,
            json!({ "i": { "voucherNo": "YX-2026-0001", "to": "S1", "amount": 100_000_000, "dueDate": "2026-07-05",
                            "contractRef": "HT-2026-001", "invoices": [inv] } }),
        )
        .await;
    assert_eq!(issued["issueVoucher"]["events"][0]["kind"], "VoucherIssued");
    h.ok(Some(&s1), "mutation{ signForVoucher(voucherId:\"YX-2026-0001\"){ height } }", json!({})).await;
    h.ok(
        Some(&s1),
        "mutation($p:[SplitPartInput!]!){ splitVoucher(voucherId:\"YX-2026-0001\", parts:$p){ height } }",
        json!({ "p": [{ "to": "S2", "amount": 60_000_000 }, { "to": "S1", "amount": 40_000_000 }] }),
    )
    .await;

    // Before financing, BANK sees neither the voucher nor the invoice.
    let d = h.ok(Some(&bank), VOUCHER_IDS, json!({})).await;
    assert!(ids(&d).is_empty(), "bank must see nothing yet: {d}");
    let r = h.gql(Some(&bank), "query{ invoice(number:\"26310000000000000001\"){ number } }", json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND");

    h.chain.set_time_ms(Some(day_ms("2026-03-07")));
    h.ok(
        Some(&s1),
        "mutation{ offerFinancing(voucherId:\"YX-2026-0001.2\", funder:\"BANK\", discountRateBp:450, agreementRef:\"BL-2026-0042\"){ height } }",
        json!({}),
    )
    .await;
    h.ok(Some(&bank), "mutation{ acceptFinancing(voucherId:\"YX-2026-0001.2\"){ height } }", json!({})).await;

    // CORE (issuer) sees the whole tree; S1 held the root, so it too sees the lineage; BANK sees only
    // the part it financed and its ancestors, not S2's sibling.
    let all = vec!["YX-2026-0001", "YX-2026-0001.1", "YX-2026-0001.2"];
    assert_eq!(ids(&h.ok(Some(&core), VOUCHER_IDS, json!({})).await), all);
    assert_eq!(ids(&h.ok(Some(&s1), VOUCHER_IDS, json!({})).await), all);
    assert_eq!(ids(&h.ok(Some(&bank), VOUCHER_IDS, json!({})).await), vec!["YX-2026-0001", "YX-2026-0001.2"]);
    let r = h.gql(Some(&bank), "query{ voucher(id:\"YX-2026-0001.1\"){ id } }", json!({})).await;
    assert_eq!(error_code(&r), "NOT_FOUND");

    // Filters: holder, status, due-date range.
    let d = h.ok(Some(&core), VOUCHER_IDS, json!({ "f": { "holder": "BANK" } })).await;
    assert_eq!(ids(&d), vec!["YX-2026-0001.2"]);
    assert_eq!(d["vouchers"]["edges"][0]["node"]["amount"], 40_000_000);
    let d = h.ok(Some(&core), VOUCHER_IDS, json!({ "f": { "status": "SPLIT" } })).await;
    assert_eq!(ids(&d), vec!["YX-2026-0001"]);
    let d = h.ok(Some(&core), VOUCHER_IDS, json!({ "f": { "dueFrom": "2026-08-01" } })).await;
    assert!(ids(&d).is_empty());
    let d = h.ok(Some(&core), VOUCHER_IDS, json!({ "f": { "dueFrom": "2026-07-05", "dueTo": "2026-07-05" } })).await;
    assert_eq!(ids(&d).len(), 3);

    // Pagination: cursors walk the same list.
    let p1 = h
        .ok(
            Some(&core),
            "query{ vouchers(first:2){ edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(p1["vouchers"]["pageInfo"]["hasNextPage"], true);
    let after = p1["vouchers"]["pageInfo"]["endCursor"].clone();
    let p2 = h
        .ok(
            Some(&core),
            "query($a:String){ vouchers(first:2, after:$a){ edges { node { id } } pageInfo { hasNextPage } } }",
            json!({ "a": after }),
        )
        .await;
    assert_eq!(p2["vouchers"]["edges"][0]["node"]["id"], "YX-2026-0001.2");
    assert_eq!(p2["vouchers"]["pageInfo"]["hasNextPage"], false);

    // Lineage as BANK sees it.
    let d = h
        .ok(Some(&bank), "query{ voucher(id:\"YX-2026-0001.2\"){ holder financedBy lineage { id } } }", json!({}))
        .await;
    assert_eq!(d["voucher"]["holder"], "BANK");
    assert_eq!(d["voucher"]["lineage"], json!([{ "id": "YX-2026-0001" }, { "id": "YX-2026-0001.2" }]));

    // The financed invoice's confidential lines are now visible to BANK (it backs BANK's financing).
    let d = h
        .ok(
            Some(&bank),
            "query{ invoice(number:\"26310000000000000001\"){ financed lines { itemName amount } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["invoice"]["financed"], 40_000_000);
    // S1's offer granted BANK a key (the API holds S1's organisation key and re-wrapped it).
    assert_eq!(d["invoice"]["lines"][0]["itemName"], "*汽车零部件*制动盘");

    // 查验 is public and says nothing more than authentic / not found / reversed.
    let q = "query($n:String!,$d:String!,$t:Int!){ verifyInvoice(number:$n, issueDate:$d, totalWithTax:$t) }";
    let d = h.ok(None, q, json!({ "n": inv, "d": "2026-01-05", "t": 113_000_000 })).await;
    assert_eq!(d["verifyInvoice"], "AUTHENTIC");
    let d = h.ok(None, q, json!({ "n": inv, "d": "2026-01-05", "t": 113_000_001 })).await;
    assert_eq!(d["verifyInvoice"], "NOT_FOUND");

    // The explorer sees the blocks and the failed/successful transactions.
    let d = h
        .ok(
            Some(&s1),
            "query{ blocks(first:1){ edges { node { height txCount transactions { module outcome } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["blocks"]["edges"][0]["node"]["transactions"][0]["module"], "voucher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voucher_story_sqlite() {
    let h = Harness::start(None).await;
    voucher_story(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voucher_story_postgres() {
    let Some(pg) = pg::Postgres::start() else { return };
    let h = Harness::start(Some(pg.url("story"))).await;
    voucher_story(&h).await;
}
