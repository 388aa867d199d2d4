#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use scf_ca::{CaDir, CertKind};
use scf_ledger::crypto::KeyPair;

/// A fixed "now" so validity assertions do not depend on the wall clock.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

pub fn new_ca(dir: &Path, org: &str) -> CaDir {
    CaDir::init_with_key(dir, org, None, 3650, t0(), KeyPair::from_seed(&format!("ca {org}"))).expect("init CA")
}

pub fn issue(ca: &mut CaDir, kind: CertKind, cn: &str, sans: &[&str]) -> (scf_ca::SmCertificate, KeyPair) {
    let key = KeyPair::from_seed(&format!("{kind} {cn}"));
    let cert = ca
        .issue(kind, &format!("CN={cn}"), *key.public(), 365, sans.iter().map(|s| s.to_string()).collect(), t0())
        .expect("issue");
    (cert, key)
}

/// Run openssl; returns (success, stdout + stderr).
pub fn openssl(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(cwd).output().expect("openssl must be installed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// OpenSSL's `-attime` takes seconds since the epoch; certificates here are issued at [`t0`].
pub fn attime() -> String {
    (t0() + days(1)).duration_since(SystemTime::UNIX_EPOCH).expect("after epoch").as_secs().to_string()
}
