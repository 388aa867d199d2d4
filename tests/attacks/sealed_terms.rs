//! Issue #21: financing rates and pledge amounts neither travel nor rest in clear. On the running member
//! of `sealed_lines`, a supplier applies for financing at a distinctive rate and a bank approves and
//! disburses it; a depositor applies for a pledge loan, the warehouse values the goods and the bank
//! approves the loan — all through GraphQL, as the portals do. Then a node operator walks the blocks,
//! receipts and state (see `sealed_lines`) and finds none of the figures; the state records decode with
//! every figure `None` and sealed. The parties and the regulator read the figures through GraphQL; the
//! warehouse reads the goods value but not the loan; the obligor reads the registration record without
//! the discount; a competitor reads nothing.
//!
//! Fails if the API goes back to clear calls (`ApplyFinancing`, `ApproveFinancing`, `RecordDisbursement`,
//! `OfferFinancing`, `ApplyPledge`, `ConfirmGoods`, `ApprovePledge`, `WarehouseCall::Pledge`).

use scf_domain::date::Date;
use scf_domain::workflow::Instance;
use serde_json::{json, Value};

use super::login;
use super::support::{gql, ok};

pub const FA: &str = "FA-SEAL-1";
pub const VOUCHER: &str = "V-SEAL-1";
pub const PLEDGE: &str = "PL-SEAL-1";
pub const RECEIPT: &str = "WR-SEAL-1";
const INVOICE: &str = "26312099000000000003";

/// Distinctive figures: rates in bp, amounts in fen.
const REQUESTED_RATE: u32 = 7_919;
const APPROVED_RATE: u32 = 7_907;
const FACE: u64 = 246_813_579;
const PLEDGE_REQUESTED: u64 = 987_654_321;
const GOODS_VALUE: u64 = 1_357_924_680;
const LOAN: u64 = 876_543_210;
const PLEDGE_RATE: u32 = 6_900;

const TX: &str = "{ txId height }";

fn cst_date(days: i32) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    Date::from_time_ms(now + 8 * 3_600_000).add_days(days).to_string()
}

/// What must not appear in clear anywhere on the chain: decimal text, little-endian integers (Borsh),
/// and the JSON a clear event would carry.
pub struct Figures {
    pub text: Vec<String>,
    pub bytes: Vec<Vec<u8>>,
}

async fn as_user(http: &reqwest::Client, url: &str, token: &str, q: &str, v: Value) -> Value {
    ok(&gql(http, url, Some(token), q, v).await).clone()
}

/// Run the financing and the pledge through GraphQL and check who reads which figure. Returns the
/// figures a node operator must not find.
pub async fn run(http: &reqwest::Client, url: &str, password: &str) -> Figures {
    let supplier = login(http, url, "wang.fang", password).await; // HLBRAKE
    let core = login(http, url, "zhang.wei", password).await; // HSAUTO, the obligor
    let bank = login(http, url, "wu.hao", password).await; // ICBC-SH
    let warehouse = login(http, url, "guo.qiang", password).await; // CMST-WH
    let regulator = login(http, url, "inspector", password).await; // PBOC-SH viewer
    let rival = login(http, url, "zhao.lei", password).await; // JDCAST, a competing supplier

    // A voucher of FACE fen backed by a booked invoice, signed for by HLBRAKE.
    let tax = (300_000_000u64 * 1300 + 5_000) / 10_000;
    let invoice = json!({
        "number": INVOICE, "issueDate": cst_date(-1),
        "seller": { "name": "江苏恒力制动系统有限公司", "taxId": "91320400MA1MHL0B02" },
        "buyer": { "name": "华晟汽车集团有限公司", "taxId": "91310000MA1FL5HS01" },
        "buyerOrg": "HSAUTO",
        "lines": [{ "itemName": "*汽车零部件*制动盘", "spec": "BD-320", "unit": "件", "amount": 300_000_000u64,
                    "taxRateBp": 1300, "taxAmount": tax }],
        "totalAmount": 300_000_000u64, "totalTax": tax, "totalWithTax": 300_000_000u64 + tax, "issuer": "王芳"
    });
    as_user(
        http,
        url,
        &supplier,
        &format!("mutation($i:IssueInvoiceInput!){{ issueInvoice(input:$i) {TX} }}"),
        json!({ "i": invoice }),
    )
    .await;
    as_user(
        http,
        url,
        &core,
        &format!("mutation($n:String!){{ bookInvoice(number:$n, bookingRef:\"记-SEAL\") {TX} }}"),
        json!({ "n": INVOICE }),
    )
    .await;
    let v = json!({ "voucherNo": VOUCHER, "to": "HLBRAKE", "amount": FACE, "dueDate": cst_date(90),
                    "contractRef": "HS-CG-SEAL", "invoices": [INVOICE] });
    as_user(
        http,
        url,
        &core,
        &format!("mutation($i:IssueVoucherInput!){{ issueVoucher(input:$i) {TX} }}"),
        json!({ "i": v }),
    )
    .await;
    as_user(
        http,
        url,
        &supplier,
        &format!("mutation($v:String!){{ signForVoucher(voucherId:$v) {TX} }}"),
        json!({ "v": VOUCHER }),
    )
    .await;

    // Financing: apply at REQUESTED_RATE, approve at APPROVED_RATE, disburse the net.
    let i =
        json!({ "applicationId": FA, "voucherId": VOUCHER, "funder": "ICBC-SH", "requestedRateBp": REQUESTED_RATE });
    as_user(
        http,
        url,
        &supplier,
        &format!("mutation($i:ApplyFinancingInput!){{ applyForFinancing(input:$i) {TX} }}"),
        json!({ "i": i }),
    )
    .await;
    as_user(
        http,
        url,
        &bank,
        &format!("mutation($a:String!){{ checkFinancingInvoices(applicationId:$a) {TX} }}"),
        json!({ "a": FA }),
    )
    .await;
    // Above the requested rate: refused by the bank's own API (it opens the sealed request).
    let r = gql(http, url, Some(&bank), "mutation($a:String!){ approveFinancing(applicationId:$a, discountRateBp:7920, agreementRef:\"BL-SEAL\"){ txId } }", json!({ "a": FA })).await;
    assert!(r["errors"][0]["message"].as_str().is_some_and(|m| m.contains("7919")), "approval above the request: {r}");
    let q = format!("mutation($a:String!,$r:Int!){{ approveFinancing(applicationId:$a, discountRateBp:$r, agreementRef:\"BL-SEAL\") {TX} }}");
    as_user(http, url, &bank, &q, json!({ "a": FA, "r": APPROVED_RATE })).await;
    const APP: &str =
        "query($v:String!){ financingApplications(filter:{voucherId:$v}){ requestedRateBp termsAccess termsBreach \
                       approval { discountRateBp discountInterest netAmount } disbursement { amount } } }";
    let d = as_user(http, url, &bank, APP, json!({ "v": VOUCHER })).await;
    let a = &d["financingApplications"][0];
    assert_eq!(a["termsAccess"], "opened", "{d}");
    assert_eq!(a["requestedRateBp"], REQUESTED_RATE, "{d}");
    assert_eq!(a["approval"]["discountRateBp"], APPROVED_RATE, "{d}");
    let net = a["approval"]["netAmount"].as_u64().expect("net");
    let interest = a["approval"]["discountInterest"].as_u64().expect("interest");
    assert_eq!(net + interest, FACE, "{d}");
    let wrong = gql(http, url, Some(&bank), "mutation($a:String!,$n:Int!){ recordDisbursement(applicationId:$a, paymentRef:\"TT-SEAL\", amount:$n){ txId } }", json!({ "a": FA, "n": net - 1 })).await;
    assert!(wrong["errors"].is_array(), "a disbursement other than the net must be refused: {wrong}");
    let q = format!("mutation($a:String!,$n:Int!){{ recordDisbursement(applicationId:$a, paymentRef:\"TT-SEAL\", amount:$n) {TX} }}");
    as_user(http, url, &bank, &q, json!({ "a": FA, "n": net })).await;
    for (who, token) in [("supplier", &supplier), ("bank", &bank), ("regulator", &regulator)] {
        let d = as_user(http, url, token, APP, json!({ "v": VOUCHER })).await;
        let a = &d["financingApplications"][0];
        assert_eq!(a["approval"]["discountRateBp"], APPROVED_RATE, "{who}: {d}");
        assert_eq!(a["disbursement"]["amount"], net, "{who}: {d}");
        assert!(a["termsBreach"].is_null(), "{who}: {d}");
    }
    let d = as_user(http, url, &rival, APP, json!({ "v": VOUCHER })).await;
    assert_eq!(d["financingApplications"], json!([]), "a competitor sees the application: {d}");

    // The registration record: the funder reads the figures and downloads the JSON; the obligor reads
    // the record without them; a competitor gets nothing.
    const REG: &str = "query($v:String!){ financingRegistration(voucherId:$v){ registrationNo mainContractAmount \
                       discountRateBp discountInterest propertyValue termsAccess termsCommitment json } }";
    let d = as_user(http, url, &bank, REG, json!({ "v": VOUCHER })).await;
    let reg = &d["financingRegistration"];
    assert_eq!(
        (reg["mainContractAmount"].as_u64(), reg["discountRateBp"].as_u64()),
        (Some(net), Some(APPROVED_RATE as u64)),
        "{d}"
    );
    let file: Value = serde_json::from_str(reg["json"].as_str().expect("json")).expect("registration JSON");
    assert_eq!(file["registration_no"], format!("REG-{VOUCHER}"));
    assert_eq!(file["main_contract_amount"], net, "{file}");
    assert_eq!(file["terms_commitment"], reg["termsCommitment"], "{file}");
    let d = as_user(http, url, &core, REG, json!({ "v": VOUCHER })).await;
    let reg = &d["financingRegistration"];
    assert_eq!(reg["termsAccess"], "not_a_recipient", "{d}");
    assert!(reg["mainContractAmount"].is_null() && reg["discountRateBp"].is_null(), "{d}");
    assert_eq!(reg["propertyValue"], FACE, "{d}");
    let d = as_user(http, url, &rival, REG, json!({ "v": VOUCHER })).await;
    assert!(d["financingRegistration"].is_null(), "a competitor reads the registration: {d}");

    // Pledge: request, goods value, loan and pledge rate.
    let i = json!({ "number": RECEIPT, "depositor": "HLBRAKE", "goodsName": "冷轧钢卷", "spec": "SPCC 1.0mm", "unit": "kg",
                    "quantity": 1000, "location": { "warehouse": "CMST-SH-BS01", "zone": "E", "bin": "SEAL-1" },
                    "identity": { "kind": "LOT", "lot": "LOT-SEAL-1" }, "validUntil": cst_date(180),
                    "rightsNotice": "本仓单可背书转让、质押。" });
    as_user(
        http,
        url,
        &warehouse,
        &format!("mutation($i:ReceiptTermsInput!){{ issueWarehouseReceipt(input:$i) {TX} }}"),
        json!({ "i": i }),
    )
    .await;
    let i = json!({ "applicationId": PLEDGE, "receipt": RECEIPT, "funder": "ICBC-SH", "requestedAmount": PLEDGE_REQUESTED });
    as_user(
        http,
        url,
        &supplier,
        &format!("mutation($i:ApplyPledgeInput!){{ applyForPledge(input:$i) {TX} }}"),
        json!({ "i": i }),
    )
    .await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    let q = format!("mutation($a:String!,$g:Int!,$t:Int!){{ confirmPledgeGoods(applicationId:$a, goodsValue:$g, iot:{{status:NORMAL, observedMs:$t, summary:\"正常\"}}) {TX} }}");
    as_user(http, url, &warehouse, &q, json!({ "a": PLEDGE, "g": GOODS_VALUE, "t": now })).await;
    // Above the pledge rate of the sealed goods value: refused by the bank's API.
    let q = "mutation($a:String!,$l:Int!,$r:Int!,$d:String!){ approvePledge(applicationId:$a, loanAmount:$l, pledgeRateBp:$r, due:$d, agreementRef:\"ZY-SEAL\"){ txId } }";
    let r =
        gql(http, url, Some(&bank), q, json!({ "a": PLEDGE, "l": GOODS_VALUE, "r": PLEDGE_RATE, "d": cst_date(60) }))
            .await;
    assert!(
        r["errors"][0]["message"].as_str().is_some_and(|m| m.contains("loan_amount")),
        "loan above the pledge rate: {r}"
    );
    let r =
        gql(http, url, Some(&bank), q, json!({ "a": PLEDGE, "l": LOAN, "r": PLEDGE_RATE, "d": cst_date(60) })).await;
    ok(&r);
    const INST: &str = "query($i:String!){ workflowInstance(id:$i){ amount data } }";
    const WR: &str = "query($n:String!){ warehouseReceipt(number:$n){ pledge { funder amount sealed } } }";
    for (who, token) in [("depositor", &supplier), ("bank", &bank), ("regulator", &regulator)] {
        let d = as_user(http, url, token, INST, json!({ "i": PLEDGE })).await;
        assert_eq!(d["workflowInstance"]["amount"], PLEDGE_REQUESTED, "{who}: {d}");
        let data: Value =
            serde_json::from_str(d["workflowInstance"]["data"].as_str().expect("data")).expect("data JSON");
        assert_eq!(data["confirmation"]["goods_value"], GOODS_VALUE, "{who}: {data}");
        assert_eq!(data["approval"]["loan_amount"], LOAN, "{who}: {data}");
        assert_eq!(data["approval"]["pledge_rate_bp"], PLEDGE_RATE, "{who}: {data}");
        let d = as_user(http, url, token, WR, json!({ "n": RECEIPT })).await;
        assert_eq!(d["warehouseReceipt"]["pledge"]["amount"], LOAN, "{who}: {d}");
    }
    // The warehouse values the goods but is not told the loan or the request.
    let d = as_user(http, url, &warehouse, INST, json!({ "i": PLEDGE })).await;
    assert!(d["workflowInstance"]["amount"].is_null(), "the warehouse reads the requested loan: {d}");
    let data: Value = serde_json::from_str(d["workflowInstance"]["data"].as_str().expect("data")).expect("data JSON");
    assert_eq!(data["confirmation"]["goods_value"], GOODS_VALUE, "{data}");
    assert!(data["approval"]["loan_amount"].is_null(), "the warehouse reads the loan: {data}");
    let d = as_user(http, url, &warehouse, WR, json!({ "n": RECEIPT })).await;
    assert_eq!(
        (d["warehouseReceipt"]["pledge"]["amount"].clone(), d["warehouseReceipt"]["pledge"]["sealed"].clone()),
        (Value::Null, json!(true)),
        "{d}"
    );

    let mut text: Vec<String> =
        [FACE - net, net, PLEDGE_REQUESTED, GOODS_VALUE, LOAN].iter().map(u64::to_string).collect();
    for (k, r) in [("rate_bp", REQUESTED_RATE), ("rate_bp", APPROVED_RATE), ("rate_bp", PLEDGE_RATE)] {
        text.push(format!("{k}\":{r}"));
        text.push(format!("{k}\": {r}"));
    }
    let mut bytes: Vec<Vec<u8>> =
        [FACE - net, net, PLEDGE_REQUESTED, GOODS_VALUE, LOAN].iter().map(|n| n.to_le_bytes().to_vec()).collect();
    bytes.extend([REQUESTED_RATE, APPROVED_RATE].iter().map(|r| r.to_le_bytes().to_vec()));
    Figures { text, bytes }
}

/// The records' state values decode with every figure sealed.
pub fn check_state(get: &dyn Fn(&str) -> Option<Vec<u8>>) {
    let value = |key: &str| get(key).unwrap_or_else(|| panic!("no state value at {key}"));
    match borsh::from_slice::<Instance>(&value(&format!("workflow/i/{FA}"))).expect("financing application") {
        Instance::Financing(a) => {
            assert_eq!(a.requested_rate_bp, None);
            assert!(a.sealed_requested_rate.is_some());
            let x = a.approval.expect("approval");
            assert_eq!((x.discount_rate_bp, x.discount_interest, x.net_amount), (None, None, None));
            assert!(x.sealed_terms.is_some());
            assert_eq!(a.disbursement.expect("disbursement").amount, None);
        }
        other => panic!("not a financing application: {other:?}"),
    }
    match borsh::from_slice::<Instance>(&value(&format!("workflow/i/{PLEDGE}"))).expect("pledge application") {
        Instance::Pledge(a) => {
            assert_eq!(a.requested_amount, None);
            assert_eq!(a.confirmation.expect("confirmation").goods_value, None);
            let x = a.approval.expect("approval");
            assert_eq!((x.loan_amount, x.pledge_rate_bp), (None, None));
        }
        other => panic!("not a pledge application: {other:?}"),
    }
    let v: scf_domain::voucher::Voucher = borsh::from_slice(&value(&format!("voucher/v/{VOUCHER}"))).expect("voucher");
    let f = v.financing.expect("financing");
    assert_eq!((f.discount_rate_bp, f.discount_interest, f.net_amount), (None, None, None));
    let reg: scf_domain::registration::FinancingRegistration =
        borsh::from_slice(&value(&format!("registration/{VOUCHER}"))).expect("registration");
    assert_eq!((reg.discount_rate_bp, reg.discount_interest, reg.main_contract_amount), (None, None, None));
    let r: scf_domain::warehouse::Receipt =
        borsh::from_slice(&value(&format!("warehouse/r/{RECEIPT}"))).expect("receipt");
    let p = r.pledge.expect("pledge");
    assert!(p.amount.is_none() && p.sealed_loan.is_some());
}
