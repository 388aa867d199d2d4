//! Test harness: a real chain in this process (the executor over RocksDB), a real SQL read model and the
//! HTTP server on a free port.
#![allow(dead_code)]

use std::sync::Arc;

use scf_client::{InProcessChain, Production};
use scf_domain::org::Role;
use scf_graphql::bootstrap::{consortium_with_org_keys, OrgSpec};
use scf_graphql::{Config, Server};
use scf_store::Store;
use serde_json::{json, Value};

pub const NODE_KEY: [u8; 16] = *b"test-node-key-16";
pub const PASSWORD: &str = "correct horse battery";

/// 2026-01-05 10:00 Beijing time, in ms since the epoch.
pub fn day_ms(ymd: &str) -> u64 {
    let d = scf_domain::date::Date::parse(ymd).expect("date");
    (d.0 as i64 * 86_400_000 + 2 * 3_600_000) as u64
}

pub fn credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", hex::encode(&h[..7]).to_uppercase()).chars().take(18).collect()
}

pub fn org(id: &str, roles: &[Role], funder: bool) -> OrgSpec {
    OrgSpec {
        id: id.into(),
        name: format!("{id} 有限公司"),
        credit_code: credit_code(id),
        roles: roles.to_vec(),
        approved_funder: funder,
        admin_username: format!("{}-admin", id.to_lowercase()),
        admin_password: PASSWORD.into(),
    }
}

pub struct Harness {
    pub server: Server,
    pub chain: InProcessChain<Store>,
    pub url: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// CORE (core enterprise), S1 and S2 (suppliers), BANK (approved funder), REG (regulator), TAX.
    pub async fn start(database_url: Option<String>) -> Harness {
        Harness::start_with(database_url, Vec::new(), |_| {}).await
    }

    /// As [`Harness::start`], with `extra` organisations and a last change to the genesis (e.g. a
    /// governance committee).
    pub async fn start_with(
        database_url: Option<String>,
        extra: Vec<OrgSpec>,
        customise: impl FnOnce(&mut scf_ledger::genesis::Genesis),
    ) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("read.sqlite").display()));
        let db = scf_graphql::db::connect(&db_url).await.expect("db");
        let orgs = vec![
            org("CORE", &[Role::CoreEnterprise], false),
            org("S1", &[Role::Supplier], false),
            org("S2", &[Role::Supplier], false),
            org("BANK", &[Role::Funder], true),
            org("REG", &[Role::Regulator], false),
            org("TAX", &[Role::TaxAuthority], false),
        ]
        .into_iter()
        .chain(extra)
        .collect::<Vec<_>>();
        let (mut genesis, _validator, org_keys) =
            consortium_with_org_keys(&db, &NODE_KEY, "scf-gql-test", day_ms("2026-01-04"), &orgs)
                .await
                .expect("consortium");
        customise(&mut genesis);
        drop(db);
        let store = Store::open(&dir.path().join("chain")).expect("store");
        let chain = InProcessChain::open(store, &genesis, scf_domain::modules(), Production::Auto).expect("chain");
        chain.set_time_ms(Some(day_ms("2026-01-05")));
        let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), db_url, NODE_KEY);
        // Like `scf demo`, the test API holds every organisation's key and opens each one's sealed lines.
        config.org_keys = org_keys;
        let server = scf_graphql::start(config, Arc::new(chain.clone())).await.expect("server");
        let url = format!("http://{}", server.addr);
        Harness { server, chain, url, client: reqwest::Client::new(), _dir: dir }
    }

    /// POST a GraphQL request; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req =
            self.client.post(format!("{}/graphql", self.url)).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("send").json().await.expect("json body")
    }

    /// Run and expect success; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        assert!(r.get("errors").is_none(), "unexpected errors for {query}: {r}");
        r["data"].clone()
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let d = self
            .ok(
                None,
                "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token user { orgId role } } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        d["login"]["token"].as_str().expect("token").to_string()
    }
}

/// The first error's `extensions.code`.
pub fn error_code(r: &Value) -> String {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>").to_string()
}

pub fn invoice_input(number: &str, seller: &str, buyer: &str, amount: i64, date: &str) -> Value {
    let tax = amount * 13 / 100;
    json!({
        "number": number,
        "issueDate": date,
        "seller": { "name": format!("{seller} 有限公司"), "taxId": credit_code(seller) },
        "buyer": { "name": format!("{buyer} 有限公司"), "taxId": credit_code(buyer) },
        "buyerOrg": buyer,
        "lines": [{
            "itemName": "*汽车零部件*制动盘", "spec": "BD-320", "unit": "件",
            "quantity": "100", "unitPrice": format!("{}.{:02}", amount / 10_000, (amount / 100) % 100),
            "amount": amount, "taxRateBp": 1300, "taxAmount": tax
        }],
        "totalAmount": amount, "totalTax": tax, "totalWithTax": amount + tax,
        "remarks": "合同 HT-2026-001", "issuer": "张三"
    })
}

pub const ISSUE_INVOICE: &str = "mutation($i:IssueInvoiceInput!){ issueInvoice(input:$i){ txId height } }";
pub const ISSUE_VOUCHER: &str =
    "mutation($i:IssueVoucherInput!){ issueVoucher(input:$i){ txId height events { kind } } }";
