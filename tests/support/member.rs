//! Helpers for tests that run `scf` member processes: the binary, ports, keys, GraphQL over HTTP, and
//! waiting for a condition with a deadline (never a fixed sleep).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use scf_ledger::crypto::KeyPair;
use serde_json::{json, Value};

pub fn scf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scf"))
}

/// Run to completion; its stdout. Fails the test with stderr when the command fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run scf");
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prints the end of a process's log when dropped while the test is failing, since the log usually
/// lives in a temporary directory that goes with the test. Declare it after that directory.
pub struct LogOnPanic(pub std::path::PathBuf);
impl Drop for LogOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let tail = scf_node::cli::log_tail(&self.0, 120);
            eprintln!("--- end of {} ---\n{tail}\n--- (last 120 lines) ---", self.0.display());
        }
    }
}

pub fn read_key(path: &Path) -> KeyPair {
    KeyPair::from_pkcs8_pem(&std::fs::read_to_string(path).expect("key file")).expect("PKCS#8 key")
}

pub async fn gql(http: &reqwest::Client, url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = http.post(format!("{url}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("send").json().await.expect("json")
}

/// The data of a response that must have no errors.
pub fn ok(r: &Value) -> &Value {
    assert!(r.get("errors").is_none(), "unexpected errors: {r}");
    &r["data"]
}

/// Poll `probe` every 200 ms until it gives `Some`, failing with `what` (and `context()`) after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, context: impl Fn() -> String, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let t0 = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}\n{}", context());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `/healthz` of a member's API, once it answers.
pub async fn health(http: &reqwest::Client, url: &str) -> Option<Value> {
    let r = http.get(format!("{url}/healthz")).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// Bootstrap an organisation's first admin on a running member and replace its one-time password;
/// the admin's session token.
pub async fn first_admin(
    http: &reqwest::Client,
    url: &str,
    config: &Path,
    key: &Path,
    username: &str,
    password: &str,
) -> String {
    let printed =
        run(scf().args(["admin", "bootstrap", "--username", username, "--config"]).arg(config).arg("--key").arg(key));
    let once = printed
        .lines()
        .find_map(|l| l.strip_prefix("password"))
        .map(|p| p.trim().to_string())
        .expect("one-time password printed");
    let login =
        "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token user { mustChangePassword } } }";
    let r = gql(http, url, None, login, json!({ "u": username, "p": once })).await;
    let token = ok(&r)["login"]["token"].as_str().expect("token").to_string();
    let change =
        "mutation($o:String!,$n:String!){ changePassword(oldPassword:$o,newPassword:$n){ mustChangePassword } }";
    let r = gql(http, url, Some(&token), change, json!({ "o": once, "n": password })).await;
    assert_eq!(ok(&r)["changePassword"]["mustChangePassword"], false);
    let r = gql(http, url, None, login, json!({ "u": username, "p": password })).await;
    ok(&r)["login"]["token"].as_str().expect("token").to_string()
}

/// A GraphQL `IssueInvoiceInput` for `amount` fen (13% VAT) from `seller` to `buyer` (organisation ids).
pub fn invoice_input(number: &str, seller: &str, buyer: &str, amount: i64, date: &str) -> Value {
    let tax = amount * 13 / 100;
    json!({
        "number": number,
        "issueDate": date,
        "seller": { "name": format!("{seller} 有限公司"), "taxId": scf_domain::org::derived_credit_code(seller) },
        "buyer": { "name": format!("{buyer} 有限公司"), "taxId": scf_domain::org::derived_credit_code(buyer) },
        "buyerOrg": buyer,
        "lines": [{
            "itemName": "*汽车零部件*制动盘", "spec": "BD-320", "unit": "件",
            "quantity": "100", "unitPrice": format!("{}.{:02}", amount / 10_000, (amount / 100) % 100),
            "amount": amount, "taxRateBp": 1300, "taxAmount": tax
        }],
        "totalAmount": amount, "totalTax": tax, "totalWithTax": amount + tax,
        "remarks": "", "issuer": "张三"
    })
}
