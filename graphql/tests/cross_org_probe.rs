//! Cross-organisation probing of every query argument that identifies an object (issue #21, item 6:
//! every query is scoped to what the caller's organisation may see; the regulator sees everything;
//! a hidden object answers exactly as an absent one, so existence cannot be probed).
//!
//! **Enumerated from the schema.** The test reads the served schema by introspection and lists every
//! field of `Query`, `Subscription` and of every other object type (nested fields such as
//! `Voucher.lineage`) together with each of its arguments that *identifies an object* — input-object
//! arguments are walked, so `vouchers(filter: {rootId})` is the key `Query.vouchers(filter.rootId)`.
//! Mutations are covered by `authz_every_mutation.rs`.
//!
//! **Which arguments identify an object.** Conservatively, every argument does, except:
//! Boolean and enum arguments (flags and states), and the names in [`NOT_IDENTIFYING`] (page sizes,
//! cursors, dates, amounts, time windows, and `signedTxHex`, a transaction the caller signed itself).
//! Heights, block hashes, transaction ids, addresses, GTIN/lot and Digital Links *do* identify
//! something: they get a rule like any id, and where the data is public by design (the explorer, the
//! consumer page) the rule says so and why.
//!
//! **The rules table, [`PROBES`].** One row per enumerated key: a query with `$id`, an id that
//! belongs to organisation A (seeded below), a same-shaped id that does not exist, a `marker` that A's
//! answer contains, A, a competitor B without a relationship to the object, whether the regulator
//! sees it, and what B must get ([`Expect`]):
//! - `NotFound`: B gets NOT_FOUND, and B's answer for the existing id is byte-for-byte the answer for
//!   the absent id once each id is masked (same code, same message shape, same path); A asking for the
//!   absent id gets that same answer too.
//! - `Empty`: a filtered list; B gets the same (empty) answer as for an absent id.
//! - `Redacted`: existence is not secret (explorer ids are listed in blocks) but what concerns only A
//!   is not shown to B: B's answer lacks the marker; an absent id is NOT_FOUND.
//! - `Public(reason)`: B gets exactly A's answer, for the stated reason.
//!
//! A key the schema has and the table lacks fails the test naming the field and this file, so a new
//! query (or a new id argument) cannot ship without a cross-organisation rule; a row for a key the
//! schema no longer has fails too.
//!
//! Beyond the arguments, [`UNFILTERED_LISTS`] checks that B's unfiltered lists (and "my" views)
//! contain none of A's seeded ids, and the `transaction` row checks nested fields (`events`,
//! `block.transactions`) of a visible object that links to A's data.
//!
//! Run: `cargo test -p scf-graphql --test cross_org_probe`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use scf_domain::governance::{GovGenesis, Member};
use scf_domain::org::Role;
use serde_json::{json, Value};

const THIS_FILE: &str = "graphql/tests/cross_org_probe.rs";

/// Argument names that never identify an object, with the reason.
const NOT_IDENTIFYING: &[(&str, &str)] = &[
    ("first", "a page size"),
    ("after", "a paging cursor: it only narrows a list the caller may already see"),
    ("status", "a state, not an object"),
    ("state", "a state, not an object"),
    ("dueFrom", "a date bound"),
    ("dueTo", "a date bound"),
    ("issueDate", "a date (with an invoice number, the public 查验 triple; the number has its rule)"),
    ("totalWithTax", "an amount (with an invoice number, the public 查验 triple; the number has its rule)"),
    ("withinDays", "a time window"),
    ("fromMs", "a time window"),
    ("toMs", "a time window"),
    (
        "signedTxHex",
        "a transaction the caller signed itself: dryRun answers what submitting it would (the chain's rules); it names no object the API looks up",
    ),
];

/// What competitor B must get for A's object.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// NOT_FOUND, indistinguishable from an absent id.
    NotFound,
    /// An empty list, indistinguishable from an absent id.
    Empty,
    /// The object (its existence is not secret), without what concerns only A (the marker).
    Redacted,
    /// Exactly A's answer, for the reason given.
    Public(&'static str),
}

/// One probe. `id`/`absent` starting with `@` are taken from the seeded values (ids the chain makes).
struct Probe {
    key: &'static str,
    query: &'static str,
    id: &'static str,
    absent: &'static str,
    /// A substring of A's answer (compact JSON) that B's must not contain unless the rule is public.
    marker: &'static str,
    owner: &'static str,
    other: &'static str,
    regulator: bool,
    expect: Expect,
}

const fn hidden(
    key: &'static str,
    query: &'static str,
    ids: (&'static str, &'static str),
    marker: &'static str,
    owner: &'static str,
    other: &'static str,
    expect: Expect,
) -> Probe {
    Probe { key, query, id: ids.0, absent: ids.1, marker, owner, other, regulator: true, expect }
}

const fn public(
    key: &'static str,
    query: &'static str,
    id: &'static str,
    marker: &'static str,
    reason: &'static str,
) -> Probe {
    Probe {
        key,
        query,
        id,
        absent: id,
        marker,
        owner: "S1",
        other: "S2",
        regulator: true,
        expect: Expect::Public(reason),
    }
}

const INV: &str = "26310000000000000701";
const INV2: &str = "26310000000000000702";
const GTIN: &str = "06901234000337";
const LOT: &str = "LOTP1";

const EXPLORER: &str = "explorer: blocks, heights and hashes are chain data every member's node holds (transactions in them are redacted, see Query.transaction)";
const CONSUMER: &str = "the consumer page of a lot: anyone who scans the product, signed in or not";
const DIRECTORY: &str = "the consortium's member directory: every member sees every member";

/// The rules table: every enumerated key has at least one row.
const PROBES: &[Probe] = &[
    public("Query.organisation(id)", "query($id:String!){ organisation(id:$id){ id name } }", "S1", "\"S1\"", DIRECTORY),
    // Vouchers: visible to the organisations that hold/held, issued, were offered or financed them.
    hidden(
        "Query.voucher(id)",
        "query($id:String!){ voucher(id:$id){ id holder amount lineage { id } } }",
        ("YX-P1", "YX-P9"),
        "YX-P1",
        "S1",
        "S2",
        Expect::NotFound,
    ),
    hidden(
        "Query.vouchers(filter.holder)",
        "query($id:String){ vouchers(filter:{holder:$id}){ edges { node { id } } } }",
        ("S1", "ZZ-NOBODY"),
        "YX-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.vouchers(filter.rootId)",
        "query($id:String){ vouchers(filter:{rootId:$id}){ edges { node { id } } } }",
        ("YX-P1", "YX-P9"),
        "YX-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    // Invoices: seller, buyer, a funder they back, the tax authority, the regulator.
    hidden(
        "Query.invoice(number)",
        "query($id:String!){ invoice(number:$id){ number totalWithTax lines { amount } } }",
        (INV, "26310000000000000799"),
        INV,
        "S1",
        "S2",
        Expect::NotFound,
    ),
    public(
        "Query.verifyInvoice(number)",
        "query($id:String!){ verifyInvoice(number:$id, issueDate:\"2026-01-05\", totalWithTax:1130000) }",
        INV,
        "AUTHENTIC",
        "查验: whoever holds the invoice's number, date and total may check it is authentic, as at the tax bureau; the answer is AUTHENTIC/NOT_FOUND/REVERSED and nothing more",
    ),
    // Explorer.
    public("Query.block(height)", "query($id:Int!){ block(height:$id){ height hash txCount } }", "@height", "\"hash\"", EXPLORER),
    public("Query.blockByHash(hash)", "query($id:String!){ blockByHash(hash:$id){ height hash } }", "@hash", "\"height\"", EXPLORER),
    public(
        "Query.validators(height)",
        "query($id:Int){ validators(height:$id){ publicKey power } }",
        "@height",
        "\"publicKey\"",
        "the validator set: anyone checking a commit certificate offline needs its keys",
    ),
    Probe {
        key: "Query.transaction(id)",
        query: "query($id:String!){ transaction(id:$id){ id sender module outcome events { kind } block { transactions { id sender module } } } }",
        id: "@tx",
        absent: "@absent_tx",
        marker: "\"module\":\"invoice\"",
        owner: "S1",
        other: "S2",
        regulator: true,
        expect: Expect::Redacted,
    },
    // Workflows: the parties of an instance.
    hidden(
        "Query.workflowInstance(id)",
        "query($id:String!){ workflowInstance(id:$id){ id process applicant audit { kind } } }",
        ("APP-P1", "APP-P9"),
        "\"process\":\"financing\"",
        "S1",
        "S2",
        Expect::NotFound,
    ),
    hidden(
        "Query.workflowAudit(instanceId)",
        "query($id:String){ workflowAudit(instanceId:$id, allEvents:true){ instanceId kind } }",
        ("APP-P1", "APP-P9"),
        "\"instanceId\":\"APP-P1\"",
        "BANK",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.workflowAudit(subject)",
        "query($id:String){ workflowAudit(subject:$id, allEvents:true){ instanceId kind } }",
        ("YX-P1", "YX-P9"),
        "\"instanceId\":\"APP-P1\"",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.financingRegistration(voucherId)",
        "query($id:String!){ financingRegistration(voucherId:$id){ registrationNo transferee { orgId } discountRateBp } }",
        ("YX-P2", "YX-P9"),
        "REG-YX-P2",
        "BANK",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.financingApplications(filter.supplier)",
        "query($id:String){ financingApplications(filter:{supplier:$id}){ id voucherId } }",
        ("S1", "ZZ-NOBODY"),
        "APP-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.financingApplications(filter.funder)",
        "query($id:String){ financingApplications(filter:{funder:$id}){ id voucherId } }",
        ("BANK", "ZZ-NOBODY"),
        "APP-P1",
        "BANK",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.financingApplications(filter.voucherId)",
        "query($id:String){ financingApplications(filter:{voucherId:$id}){ id voucherId } }",
        ("YX-P1", "YX-P9"),
        "APP-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    public(
        "Query.proposal(id)",
        "query($id:Int!){ proposal(id:$id){ id title } }",
        "@proposal",
        "cross-org probe",
        "governance is consortium-wide: every member reads every proposal (only committee members vote)",
    ),
    // Warehouse receipts: operator, holder, pledgee.
    hidden(
        "Query.warehouseReceipts(filter.holder)",
        "query($id:String){ warehouseReceipts(filter:{holder:$id}){ edges { node { number } } } }",
        ("S1", "ZZ-NOBODY"),
        "WR-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.warehouseReceipts(filter.warehouse)",
        "query($id:String){ warehouseReceipts(filter:{warehouse:$id}){ edges { node { number } } } }",
        ("WH", "ZZ-NOBODY"),
        "WR-P1",
        "WH",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.warehouseReceipts(filter.goods)",
        "query($id:String){ warehouseReceipts(filter:{goods:$id}){ edges { node { number } } } }",
        ("HG-P1", "HG-P9"),
        "WR-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.warehouseReceipt(number)",
        "query($id:String!){ warehouseReceipt(number:$id){ number holder operator } }",
        ("WR-P1", "WR-P9"),
        "WR-P1",
        "S1",
        "S2",
        Expect::NotFound,
    ),
    // Devices and alerts: the owner, and the parties of a receipt a device watches.
    hidden(
        "Query.devices(filter.owner)",
        "query($id:String){ devices(filter:{owner:$id}){ edges { node { id } } } }",
        ("WH", "ZZ-NOBODY"),
        "DEV-P1",
        "WH",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.devices(filter.receipt)",
        "query($id:String){ devices(filter:{receipt:$id}){ edges { node { id } } } }",
        ("WR-P1", "WR-P9"),
        "DEV-P1",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.devices(filter.lot)",
        "query($id:String){ devices(filter:{gtin:\"06901234000337\", lot:$id}){ edges { node { id } } } }",
        (LOT, "LOTP9"),
        "DEV-P2",
        "WH",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.devices(filter.gtin)",
        "query($id:String){ devices(filter:{gtin:$id, lot:\"LOTP1\"}){ edges { node { id } } } }",
        (GTIN, "06901234000344"),
        "DEV-P2",
        "WH",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.device(id)",
        "query($id:String!){ device(id:$id){ id owner binding { kind receipt } alertCount } }",
        ("DEV-P1", "DEV-P9"),
        "DEV-P1",
        "S1",
        "S2",
        Expect::NotFound,
    ),
    hidden(
        "Query.alerts(filter.deviceId)",
        "query($id:String){ alerts(filter:{deviceId:$id}){ edges { node { id deviceId } } } }",
        ("DEV-P1", "DEV-P9"),
        "\"deviceId\":\"DEV-P1\"",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.alerts(filter.receipt)",
        "query($id:String){ alerts(filter:{receipt:$id}){ edges { node { id deviceId } } } }",
        ("WR-P1", "WR-P9"),
        "\"deviceId\":\"DEV-P1\"",
        "S1",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.alerts(filter.lot)",
        "query($id:String){ alerts(filter:{gtin:\"06901234000337\", lot:$id}){ edges { node { id deviceId } } } }",
        (LOT, "LOTP9"),
        "\"deviceId\":\"DEV-P2\"",
        "WH",
        "S2",
        Expect::Empty,
    ),
    hidden(
        "Query.alerts(filter.gtin)",
        "query($id:String){ alerts(filter:{gtin:$id, lot:\"LOTP1\"}){ edges { node { id deviceId } } } }",
        (GTIN, "06901234000344"),
        "\"deviceId\":\"DEV-P2\"",
        "WH",
        "S2",
        Expect::Empty,
    ),
    // Provenance: public by design.
    public("Query.lotPage(gtin)", "query($id:String!){ lotPage(gtin:$id, lot:\"LOTP1\"){ __typename } }", GTIN, "LotPage", CONSUMER),
    public(
        "Query.lotPage(lot)",
        "query($id:String!){ lotPage(gtin:\"06901234000337\", lot:$id){ __typename } }",
        LOT,
        "LotPage",
        CONSUMER,
    ),
    public(
        "Query.trace(digitalLink)",
        "query($id:String!){ trace(digitalLink:$id){ key upstream { __typename } } }",
        "/01/06901234000337/10/LOTP1",
        "LOTP1",
        "the consumer page's trace of a GS1 key (public, rate-limited)",
    ),
    public(
        "Query.epcisEvents(filter.gtin)",
        "query($id:String){ epcisEvents(filter:{gtin:$id, lot:\"LOTP1\"}){ edges { node { hash } } } }",
        GTIN,
        "\"hash\":\"",
        "a lot's journey, which its consumer page shows anyone (unfiltered, the list is the caller's own captures)",
    ),
    public(
        "Query.epcisEvents(filter.lot)",
        "query($id:String){ epcisEvents(filter:{gtin:\"06901234000337\", lot:$id}){ edges { node { hash } } } }",
        LOT,
        "\"hash\":\"",
        "a lot's journey, which its consumer page shows anyone (unfiltered, the list is the caller's own captures)",
    ),
    public(
        "Query.nextNonce(address)",
        "query($id:String!){ nextNonce(address:$id){ address nonce } }",
        "@address",
        "\"nonce\"",
        "an account's nonce is chain state a client needs before it signs in",
    ),
    // Webhooks: the organisation's own outbox (admins); not the regulator's business.
    Probe {
        key: "Query.webhookDeliveries(filter.endpointId)",
        query: "query($id:String){ webhookDeliveries(filter:{endpointId:$id}){ edges { node { id kind } } } }",
        id: "@endpoint",
        absent: "@absent_endpoint",
        marker: "\"kind\"",
        owner: "CORE",
        other: "S1",
        regulator: false,
        expect: Expect::Empty,
    },
    Probe {
        key: "Query.webhookDelivery(id)",
        query: "query($id:String!){ webhookDelivery(id:$id){ id kind } }",
        id: "@delivery",
        absent: "@absent_delivery",
        marker: "\"kind\"",
        owner: "CORE",
        other: "S1",
        regulator: false,
        expect: Expect::NotFound,
    },
];

/// Unfiltered lists and "my" views: B's answer must contain none of A's seeded ids. (who, query)
const UNFILTERED_LISTS: &[(&str, &str)] = &[
    ("S2", "{ vouchers(first:100){ edges { node { id rootId lineage { id } } } } }"),
    ("S2", "{ invoices(first:100){ edges { node { number } } } }"),
    ("S2", "{ financingApplications { id voucherId } }"),
    ("S2", "{ workflowAudit(subject:\"YX-P1\"){ instanceId } }"),
    ("S2", "{ warehouseReceipts(first:100){ edges { node { number } } } }"),
    ("S2", "{ devices(first:100){ edges { node { id } } } }"),
    ("S2", "{ alerts(first:100){ edges { node { id deviceId flaggedRef } } } }"),
    ("S2", "{ epcisEvents(first:100){ edges { node { hash } } } }"),
    ("S2", "{ myTasks { instanceId subject } myNotices { id subject } }"),
    ("S1", "{ webhookEndpoints { id url } webhookDeliveries(first:100){ edges { node { id } } } }"),
];

/// A's ids that must not appear in B's unfiltered answers.
const SECRET_IDS: &[&str] = &["YX-P1", INV, "APP-P1", "WR-P1", "DEV-P1", "DEV-P2", "hooks.example.invalid"];

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

fn named(t: &Value) -> &Value {
    if t["ofType"].is_null() {
        t
    } else {
        named(&t["ofType"])
    }
}

/// The identifying argument paths of one field (`id`, `filter.rootId`, ...).
fn identifying(args: &Value, types: &BTreeMap<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for a in args.as_array().into_iter().flatten() {
        let name = a["name"].as_str().unwrap_or("");
        let t = named(&a["type"]);
        let tn = t["name"].as_str().unwrap_or("");
        let kind = types.get(tn).and_then(|ty| ty["kind"].as_str()).unwrap_or("SCALAR");
        if tn == "Boolean" || kind == "ENUM" || NOT_IDENTIFYING.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let path = format!("{prefix}{name}");
        if kind == "INPUT_OBJECT" {
            identifying(&types[tn]["inputFields"], types, &format!("{path}."), out);
        } else {
            out.push(path);
        }
    }
}

/// Every `Type.field(arg.path)` whose argument identifies an object: Query, Subscription and nested
/// object fields (Mutation is `authz_every_mutation.rs`'s).
fn enumerate(schema: &Value) -> BTreeSet<String> {
    let types: BTreeMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or("").to_string(), t.clone()))
        .collect();
    let mutation = schema["mutationType"]["name"].as_str().unwrap_or("Mutation");
    let mut keys = BTreeSet::new();
    for (tn, ty) in &types {
        if ty["kind"] != "OBJECT" || tn.starts_with("__") || tn == mutation {
            continue;
        }
        for f in ty["fields"].as_array().into_iter().flatten() {
            let fname = f["name"].as_str().unwrap_or("");
            let mut paths = Vec::new();
            identifying(&f["args"], &types, "", &mut paths);
            keys.extend(paths.into_iter().map(|p| format!("{tn}.{fname}({p})")));
        }
    }
    keys
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The answer as text with `id` replaced by a placeholder, for comparing answers about different ids.
fn masked(v: &Value, id: &Value) -> String {
    let text = compact(v);
    match id {
        Value::String(s) if !s.is_empty() => text.replace(s.as_str(), "<ID>"),
        _ => text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_identifying_query_argument_is_scoped_to_the_callers_organisation() {
    let h = Harness::start_with(None, vec![common::org("WH", &[Role::WarehouseOperator], false)], |g| {
        let gov = GovGenesis {
            members: ["CORE", "BANK", "REG"].iter().map(|o| Member { org: o.to_string(), weight: 1 }).collect(),
            config: Default::default(),
        };
        g.app_state.insert(scf_domain::governance::MODULE.into(), serde_json::to_value(gov).expect("gov"));
    })
    .await;

    // 1. Enumerate from the schema and hold it against the table.
    let q = format!(
        "query {{ __schema {{ mutationType {{ name }} types {{ name kind \
         fields {{ name args {{ name type {{ {TYPE_REF} }} }} }} \
         inputFields {{ name type {{ {TYPE_REF} }} }} }} }} }}"
    );
    let schema = h.ok(None, &q, json!({})).await["__schema"].clone();
    let keys = enumerate(&schema);
    let ruled: BTreeSet<&str> = PROBES.iter().map(|p| p.key).collect();
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| !ruled.contains(k.as_str()))
        .map(|k| format!("new query {k} takes an id but has no cross-organisation rule in {THIS_FILE} (PROBES)"))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let stale: Vec<&&str> = ruled.iter().filter(|k| !keys.contains(**k)).collect();
    assert!(stale.is_empty(), "rules in {THIS_FILE} for arguments the schema no longer has: {stale:?}");
    assert!(keys.len() >= 30, "only {} identifying arguments enumerated: {keys:?}", keys.len());

    // 2. Seed A's objects.
    let mut tok = BTreeMap::new();
    for o in ["CORE", "S1", "S2", "BANK", "REG", "WH"] {
        tok.insert(o, h.login(&format!("{}-admin", o.to_lowercase()), PASSWORD).await);
    }
    let t = |o: &str| tok[o].clone();
    let kinds = "mutation{ registerWebhook(url:\"https://hooks.example.invalid/core\", kinds:[VOUCHER]){ id } }";
    let endpoint = h.ok(Some(&t("CORE")), kinds, json!({})).await["registerWebhook"]["id"].clone();
    let r = h
        .ok(Some(&t("S1")), ISSUE_INVOICE, json!({ "i": invoice_input(INV, "S1", "CORE", 1_000_000, "2026-01-05") }))
        .await;
    let tx = r["issueInvoice"]["txId"].clone();
    h.ok(
        Some(&t("CORE")),
        ISSUE_VOUCHER,
        json!({ "i": { "voucherNo": "YX-P1", "to": "S1", "amount": 1_000_000, "dueDate": "2026-06-30", "contractRef": "c", "invoices": [INV] } }),
    )
    .await;
    h.ok(Some(&t("S1")), "mutation{ signForVoucher(voucherId:\"YX-P1\"){ txId } }", json!({})).await;
    h.ok(
        Some(&t("S1")),
        "mutation{ applyForFinancing(input:{applicationId:\"APP-P1\", voucherId:\"YX-P1\", funder:\"BANK\", requestedRateBp:500}){ txId } }",
        json!({}),
    )
    .await;
    // A financed voucher (direct offer, accepted): its registration record.
    h.ok(Some(&t("S1")), ISSUE_INVOICE, json!({ "i": invoice_input(INV2, "S1", "CORE", 1_000_000, "2026-01-05") }))
        .await;
    h.ok(
        Some(&t("CORE")),
        ISSUE_VOUCHER,
        json!({ "i": { "voucherNo": "YX-P2", "to": "S1", "amount": 1_000_000, "dueDate": "2026-06-30", "contractRef": "c2", "invoices": [INV2] } }),
    )
    .await;
    h.ok(Some(&t("S1")), "mutation{ signForVoucher(voucherId:\"YX-P2\"){ txId } }", json!({})).await;
    h.ok(
        Some(&t("S1")),
        "mutation{ offerFinancing(voucherId:\"YX-P2\", funder:\"BANK\", discountRateBp:420, agreementRef:\"BL-P2\"){ txId } }",
        json!({}),
    )
    .await;
    h.ok(Some(&t("BANK")), "mutation{ acceptFinancing(voucherId:\"YX-P2\"){ txId } }", json!({})).await;
    let terms = json!({
        "number": "WR-P1", "depositor": "S1", "goodsName": "冷轧钢卷", "spec": "SPCC 1.0mm", "unit": "kg",
        "quantity": 120000, "packaging": "钢卷",
        "location": { "warehouse": "WH-SH-01", "zone": "A", "bin": "A-07" },
        "identity": { "kind": "LOT", "lot": "HG-P1" },
        "validUntil": "2026-12-31", "rightsNotice": "本仓单可背书转让、质押。"
    });
    h.ok(
        Some(&t("WH")),
        "mutation($i:ReceiptTermsInput!){ issueWarehouseReceipt(input:$i){ height } }",
        json!({ "i": terms }),
    )
    .await;
    let register = "mutation($i:RegisterDeviceInput!){ registerDevice(input:$i){ height } }";
    for (id, binding) in [
        ("DEV-P1", json!({ "kind": "RECEIPT", "receipt": "WR-P1" })),
        ("DEV-P2", json!({ "kind": "LOT", "gtin": GTIN, "lot": LOT })),
    ] {
        let key = scf_ledger::crypto::KeyPair::generate().expect("key");
        h.ok(
            Some(&t("WH")),
            register,
            json!({ "i": { "deviceId": id, "publicKey": key.public().to_hex(), "kind": "TEMPERATURE",
                           "binding": binding, "rules": [{ "rule": "SILENCE", "maxGapMs": 900000 }] } }),
        )
        .await;
        h.ok(
            Some(&t("WH")),
            "mutation($d:String!,$o:AlertObservationInput!){ raiseDeviceAlert(deviceId:$d, ruleIndex:0, observation:$o, detail:\"probe\"){ height } }",
            json!({ "d": id, "o": { "seq": 1, "timeMs": day_ms("2026-01-05"), "leaf": "00".repeat(32) } }),
        )
        .await;
    }
    let doc = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent", "eventTime": "2026-01-04T08:00:00Z", "eventTimeZoneOffset": "+08:00",
        "action": "ADD", "bizStep": "commissioning",
        "quantityList": [{ "epcClass": "urn:epc:class:lgtin:6901234.000033.LOTP1", "quantity": 10, "uom": "KGM" }]
    });
    h.ok(
        Some(&t("WH")),
        "mutation($d:String!){ captureEpcis(document:$d){ hashes } }",
        json!({ "d": doc.to_string() }),
    )
    .await;
    let status = h.ok(Some(&t("CORE")), "{ chainStatus { height } }", json!({})).await;
    let deadline = status["chainStatus"]["height"].as_i64().expect("height") + 50;
    let r = h
        .ok(
            Some(&t("CORE")),
            "mutation($d:Int){ propose(input:{title:\"cross-org probe\", kind:{setMember:{orgId:\"S1\", weight:1}}, deadlineHeight:$d}){ events { attributes { name value } } } }",
            json!({ "d": deadline }),
        )
        .await;
    let proposal = r["propose"]["events"][0]["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "proposal"))
        .and_then(|a| a["value"].as_str())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("proposal id");

    // The read model and the webhook outbox catch up.
    let mut delivery = Value::Null;
    for _ in 0..100 {
        let d = h.ok(Some(&t("CORE")), "{ webhookDeliveries(first:1){ edges { node { id } } } }", json!({})).await;
        delivery = d["webhookDeliveries"]["edges"][0]["node"]["id"].clone();
        let s = h.ok(None, "{ chainStatus { height indexedHeight } }", json!({})).await;
        if !delivery.is_null() && s["chainStatus"]["height"] == s["chainStatus"]["indexedHeight"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivery.is_string(), "no webhook delivery was queued for CORE");
    let me = h.ok(Some(&t("S1")), "{ me { address } }", json!({})).await;
    let d = h
        .ok(Some(&t("S1")), "query($id:String!){ transaction(id:$id){ height block { hash } } }", json!({ "id": tx }))
        .await;
    let seeded: BTreeMap<&str, Value> = BTreeMap::from([
        ("@tx", tx.clone()),
        ("@absent_tx", json!("ab".repeat(32))),
        ("@height", d["transaction"]["height"].clone()),
        ("@hash", d["transaction"]["block"]["hash"].clone()),
        ("@proposal", json!(proposal)),
        ("@address", me["me"]["address"].clone()),
        ("@endpoint", endpoint.clone()),
        ("@absent_endpoint", json!(format!("{}-absent", endpoint.as_str().unwrap_or("")))),
        ("@delivery", delivery.clone()),
        ("@absent_delivery", json!(format!("{}-absent", delivery.as_str().unwrap_or("")))),
    ]);
    let value = |s: &str| -> Value {
        if s.starts_with('@') {
            seeded.get(s).cloned().unwrap_or_else(|| panic!("no seeded value {s}"))
        } else {
            json!(s)
        }
    };

    // 3. Probe: A sees, B gets what the rule says (indistinguishable from absent), the regulator sees.
    let mut failures = Vec::new();
    for p in PROBES {
        let (id, absent) = (value(p.id), value(p.absent));
        let hr = &h;
        let ask = |who: &'static str, id: Value| {
            let token = t(who);
            async move { hr.gql(Some(&token), p.query, json!({ "id": id })).await }
        };
        let mut fail = |what: String| failures.push(format!("{}: {what}", p.key));
        let a = ask(p.owner, id.clone()).await;
        if a.get("errors").is_some() || !compact(&a).contains(p.marker) {
            fail(format!("the owner {} must see it (answer containing {}): {a}", p.owner, p.marker));
        }
        let b = ask(p.other, id.clone()).await;
        let b_text = masked(&b, &id);
        match p.expect {
            Expect::NotFound | Expect::Empty => {
                let b_absent = ask(p.other, absent.clone()).await;
                let a_absent = ask(p.owner, absent.clone()).await;
                if b_text != masked(&b_absent, &absent) {
                    fail(format!(
                        "{} can tell A's object from an absent one:\n  existing: {b_text}\n  absent:   {}",
                        p.other,
                        masked(&b_absent, &absent)
                    ));
                }
                if masked(&a_absent, &absent) != masked(&b_absent, &absent) {
                    fail(format!("an absent id answers differently by caller: {a_absent} / {b_absent}"));
                }
                // `data` only (unmasked): an error message may echo the id the caller gave.
                if compact(&b["data"]).contains(p.marker) {
                    fail(format!("{} sees A's object: {b}", p.other));
                }
                let code = error_code(&b);
                match p.expect {
                    Expect::NotFound if code != "NOT_FOUND" => fail(format!("{} must get NOT_FOUND: {b}", p.other)),
                    Expect::Empty if b.get("errors").is_some() => {
                        fail(format!("{} must get an empty answer, not an error: {b}", p.other))
                    }
                    _ => {}
                }
            }
            Expect::Redacted => {
                if b.get("errors").is_some() || b_text.contains(p.marker) {
                    fail(format!("{} must see it redacted (no {}): {b}", p.other, p.marker));
                }
                let b_absent = ask(p.other, absent.clone()).await;
                if error_code(&b_absent) != "NOT_FOUND" {
                    fail(format!("an absent id must be NOT_FOUND: {b_absent}"));
                }
            }
            Expect::Public(_) => {
                if compact(&a) != compact(&b) {
                    fail(format!("public, so {} must get A's answer:\n  A: {a}\n  B: {b}", p.other));
                }
            }
        }
        if p.regulator {
            let r = ask("REG", id.clone()).await;
            if r.get("errors").is_some() || !compact(&r).contains(p.marker) {
                fail(format!("the regulator must see it: {r}"));
            }
        }
    }

    // 4. Unfiltered lists and "my" views.
    for (who, query) in UNFILTERED_LISTS {
        let r = h.gql(Some(&t(who)), query, json!({})).await;
        let text = compact(&r);
        if r.get("errors").is_some() {
            failures.push(format!("{who} {query}: {r}"));
        }
        for secret in SECRET_IDS {
            if text.contains(secret) {
                failures.push(format!("{who} sees {secret} in {query}: {r}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} cross-organisation failures:\n{}", failures.len(), failures.join("\n"));
}

/// The table itself: every row's key names a field the enumeration can produce, and every
/// non-identifying name has a reason.
#[test]
fn rules_table_is_well_formed() {
    let mut seen = BTreeSet::new();
    for p in PROBES {
        assert!(p.key.contains('.') && p.key.ends_with(')'), "malformed key {}", p.key);
        assert!(p.query.contains("$id"), "{}: the query must use $id", p.key);
        assert!(!p.marker.is_empty(), "{}: empty marker", p.key);
        if let Expect::Public(reason) = p.expect {
            assert!(reason.len() > 20, "{}: a public rule states why", p.key);
        }
        seen.insert(p.key);
    }
    assert_eq!(seen.len(), PROBES.len(), "one row per key");
    for (n, why) in NOT_IDENTIFYING {
        assert!(!why.is_empty(), "{n}: no reason");
    }
}
