//! `scf demo` as a newcomer runs it: the real binary in a temporary data directory. It comes up on
//! /healthz, serves the seeded consortium through GraphQL (logins per role, vouchers at their stages,
//! certified blocks), and a restart seeds nothing twice. A busy port and an unusable data directory
//! fail with clear errors.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "scf-demo-2026";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A running `scf demo` whose output is collected.
struct Demo {
    child: Child,
    out: Arc<Mutex<String>>,
    base: String,
}

impl Demo {
    fn start(data: &Path, port: u16) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(["demo", "--port", &port.to_string(), "--data"])
            .arg(data)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scf demo");
        let out = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    out.lock().expect("lock").push_str(&(line + "\n"));
                }
            });
        }
        Demo { child, out, base: format!("http://127.0.0.1:{port}") }
    }

    fn output(&self) -> String {
        self.out.lock().expect("lock").clone()
    }

    /// The output once it contains `needle`: the demo prints its banner just after it starts serving,
    /// and the output arrives through a reader thread, so /healthz can answer before the banner is here.
    async fn output_with(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let out = self.output();
            if out.contains(needle) || start.elapsed() > Duration::from_secs(30) {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_healthy(&mut self, client: &reqwest::Client) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("scf demo exited early ({status}):\n{}", self.output());
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(180), "no /healthz after 180 s:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// SIGTERM, as Ctrl-C would, and wait for a clean exit.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "scf demo did not exit cleanly ({status}):\n{}", self.output());
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("scf demo did not stop within 30 s of SIGTERM:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.output()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn gql(client: &reqwest::Client, base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = client.post(format!("{base}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Value = req.send().await.expect("POST /graphql").json().await.expect("json");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> String {
    let d = gql(
        client,
        base,
        None,
        "mutation($u:String!,$p:String!){ login(username:$u, password:$p){ token } }",
        json!({ "u": user, "p": PASSWORD }),
    )
    .await;
    d["login"]["token"].as_str().expect("token").to_string()
}

/// What the seeded consortium looks like through the API, compared before and after a restart.
#[derive(Debug, PartialEq)]
struct Snapshot {
    users: usize,
    vouchers: Vec<(String, String)>,
    first_block_hash: String,
    seeded_blocks: Vec<String>,
}

async fn snapshot(client: &reqwest::Client, base: &str) -> Snapshot {
    let regulator = login(client, base, "supervisor").await;
    let users = gql(client, base, Some(&regulator), "{ users { username } }", json!({})).await;
    let v = gql(client, base, Some(&regulator), "{ vouchers(first: 100) { edges { node { id status } } } }", json!({}))
        .await;
    let mut vouchers: Vec<(String, String)> = v["vouchers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| (e["node"]["id"].as_str().unwrap_or("").into(), e["node"]["status"].as_str().unwrap_or("").into()))
        .collect();
    vouchers.sort();
    // The seeded history: the first blocks, their hashes and business-dated times.
    let seeded: String = (1..=20).map(|h| format!("b{h}: block(height: {h}) {{ hash timeMs }} ")).collect();
    let b = gql(client, base, Some(&regulator), &format!("{{ {seeded} }}"), json!({})).await;
    let seeded_blocks: Vec<String> = (1..=20).map(|h| b[format!("b{h}")].to_string()).collect();
    Snapshot {
        users: users["users"].as_array().expect("users").len(),
        vouchers,
        first_block_hash: b["b1"]["hash"].as_str().unwrap_or("").into(),
        seeded_blocks,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_comes_up_seeded_and_restarts_without_seeding_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("scf-data");
    let port = free_port();
    let client = reqwest::Client::new();

    let mut demo = Demo::start(&data, port);
    demo.wait_healthy(&client).await;
    let base = demo.base.clone();
    // The logins are the banner's last part.
    let banner = demo.output_with("Stop with Ctrl-C").await;
    assert!(banner.contains(&format!("http://127.0.0.1:{port}/")), "prints the URL:\n{banner}");
    for user in ["zhang.wei", "wang.fang", "wu.hao", "guo.qiang", "supervisor"] {
        assert!(banner.contains(user), "prints the {user} login:\n{banner}");
    }

    // Each role logs in and sees its part of the seeded story.
    let supplier = login(&client, &base, "wang.fang").await;
    let mine =
        gql(&client, &base, Some(&supplier), "{ vouchers(first: 50) { edges { node { id holder } } } }", json!({}))
            .await;
    let held: Vec<&str> =
        mine["vouchers"]["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["id"].as_str()).collect();
    assert!(held.iter().any(|id| id.starts_with("HSY-2026-000")), "the tier-1 supplier sees seeded vouchers: {held:?}");
    let before = snapshot(&client, &base).await;
    assert_eq!(before.users, 2, "the regulator organisation's two demo users: {before:?}");
    for (id, status) in [("HSY-2026-0001.1.1", "SETTLED"), ("HSY-2026-0004", "PENDING")] {
        assert!(
            before.vouchers.iter().any(|(i, s)| i == id && s == status),
            "{id} should be {status}: {:?}",
            before.vouchers
        );
    }
    assert_eq!(before.first_block_hash.len(), 64);
    let overdue = gql(
        &client,
        &base,
        Some(&login(&client, &base, "supervisor").await),
        r#"{ a: voucher(id: "HSY-2026-0002") { overdue } b: voucher(id: "HSY-2026-0001.1.1") { overdue } }"#,
        json!({}),
    )
    .await;
    assert_eq!(overdue["a"]["overdue"], true, "the seeded unpaid tree past its due date shows as overdue");
    assert_eq!(overdue["b"]["overdue"], false, "a paid tree is not overdue");

    // A second demo on the same port fails fast and names the port.
    let busy = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["demo", "--port", &port.to_string(), "--data"])
        .arg(dir.path().join("other"))
        .output()
        .expect("run");
    assert!(!busy.status.success());
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(err.contains("--port") && err.contains(&port.to_string()), "{err}");

    let first_out = demo.stop();
    assert!(first_out.contains("created"), "first start creates the demo users:\n{first_out}");

    // Restart on the same data: the same chain, nothing seeded or created again.
    let mut demo = Demo::start(&data, port);
    demo.wait_healthy(&client).await;
    let after = snapshot(&client, &base).await;
    assert_eq!(before, after, "a restart must not seed anything twice");
    let second_out = demo.stop();
    assert!(!second_out.contains("created"), "no users created on restart:\n{second_out}");
    assert!(!second_out.contains("seeding the consortium"), "no seeding on restart:\n{second_out}");
}

#[test]
fn unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["demo", "--port", &free_port().to_string(), "--data"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--data") && err.contains("not a directory"), "{err}");

    // A non-empty directory that is not a demo data directory is never written into or deleted.
    let foreign = dir.path().join("photos");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("holiday.jpg"), b"jpg").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["demo", "--reset", "--port", &free_port().to_string(), "--data"])
        .arg(&foreign)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an scf demo data directory"), "{err}");
    assert!(foreign.join("holiday.jpg").is_file(), "--reset must not delete a foreign directory");

    // Demo data of an older format is refused with the way out, not read into a failure.
    let old = dir.path().join("old-demo");
    std::fs::create_dir(&old).expect("mkdir");
    std::fs::write(old.join("scf-demo.json"), r#"{"kind":"scf demo data directory","version":1}"#).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["demo", "--port", &free_port().to_string(), "--data"])
        .arg(&old)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format 1") && err.contains("--reset"), "{err}");
    assert!(old.join("scf-demo.json").is_file(), "nothing deleted without --reset");
}
