//! The `scf` binary as a user runs it.

use std::process::Command;

fn scf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scf"))
}

#[test]
fn keygen_writes_a_key_pair_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("org-key");
    let first = scf().args(["keygen", "--out"]).arg(&out).output().expect("run");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let pem = std::fs::read_to_string(out.join("key.pem")).expect("key.pem");
    let key = scf_ledger::crypto::KeyPair::from_pkcs8_pem(&pem).expect("valid PKCS#8");
    let pubpem = std::fs::read_to_string(out.join("key.pub.pem")).expect("key.pub.pem");
    assert_eq!(scf_ledger::crypto::PublicKey::from_pem(&pubpem).expect("valid SPKI"), *key.public());
    assert!(String::from_utf8_lossy(&first.stdout).contains(&key.address().to_hex()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("key.pem")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private key is owner-only");
    }
    let second = scf().args(["keygen", "--out"]).arg(&out).output().expect("run");
    assert!(!second.status.success(), "second keygen must refuse");
    assert!(String::from_utf8_lossy(&second.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(out.join("key.pem")).expect("still there"), pem, "key unchanged");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let out = scf().args(["keygen"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
}

/// A consortium member's node with the GraphQL API beside it: `scf node --config … --graphql …` serves
/// the chain it is building, from a fresh read model, and creates its node key owner-only.
#[test]
fn node_serves_the_graphql_api_beside_consensus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let free = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    // A one-validator network's files (keys, genesis, node.toml); its own process is stopped again.
    let base = free();
    let up = scf()
        .args(["cluster", "up", "--nodes", "1", "--base-port", &base.to_string(), "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let down = scf().args(["cluster", "down", "--dir"]).arg(dir.path()).output().expect("run");
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));

    let port = free();
    let key = dir.path().join("node.key");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("read-model.sqlite").display());
    let mut node = scf()
        .args(["node", "--config"])
        .arg(dir.path().join("validator-0").join("node.toml"))
        .args(["--graphql", &format!("127.0.0.1:{port}"), "--database-url", &db, "--node-key"])
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let query = |q: &str| -> Option<serde_json::Value> {
        let body = serde_json::json!({ "query": q }).to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        use std::io::{Read, Write};
        write!(
            s,
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        serde_json::from_str(out.split("\r\n\r\n").nth(1)?).ok()
    };
    let height = |v: &serde_json::Value| v["data"]["chainStatus"]["height"].as_i64();
    let start = std::time::Instant::now();
    let mut first = None;
    let result = loop {
        if let Some(v) = query("{ chainStatus { chainId height } validators { name } }") {
            match (first, height(&v)) {
                (None, Some(h)) => first = Some(h),
                (Some(h0), Some(h)) if h > h0 => break Some(v),
                _ => {}
            }
        }
        if start.elapsed() > std::time::Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let _ = node.kill();
    let _ = node.wait();
    let v = result.expect("the API answers and the chain height grows");
    assert_eq!(v["data"]["chainStatus"]["chainId"], "scf-local");
    assert_eq!(v["data"]["validators"][0]["name"], "validator-0");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("node key created").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "node key is owner-only");
    }
}
