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
