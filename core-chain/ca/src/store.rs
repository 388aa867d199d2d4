//! A CA kept in a directory, for the `scf ca` command:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem` | the CA certificate (give it to the other members) |
//! | `ca.key` | the SM2 key, PKCS#8 PEM, mode 0600 |
//! | `state.json` | next serial, CRL number, what was issued and revoked |
//! | `crl.pem` | the current CRL (give it to the other members after each revocation) |
//!
//! Every file is written to a temporary name and renamed, so a crash leaves the old or the new version, never
//! half of one; state is written before the certificate it describes, so a serial is never handed out twice.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use scf_ledger::crypto::{KeyPair, PublicKey};
use serde::{Deserialize, Serialize};

use crate::authority::{Authority, IssueRequest, Validity};
use crate::cert::SmCertificate;
use crate::error::CaError;
use crate::profile::{CertKind, RevocationReason};

/// How long a CRL stays valid: members must fetch a fresh one within this window or refuse peers.
pub const CRL_VALIDITY_DAYS: u32 = 7;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedRecord {
    pub serial: u64,
    pub kind: CertKind,
    pub subject: String,
    pub not_after_unix: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokedRecord {
    pub serial: u64,
    pub reason: RevocationReason,
    pub revoked_at_unix: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    org: String,
    next_serial: u64,
    crl_number: u64,
    issued: Vec<IssuedRecord>,
    revoked: Vec<RevokedRecord>,
}

/// An organisation CA loaded from its directory.
#[derive(Debug)]
pub struct CaDir {
    dir: PathBuf,
    authority: Authority,
    state: State,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn write_atomic(path: &Path, data: &[u8], secret: bool) -> Result<(), CaError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(&tmp).map_err(|e| CaError::io(&tmp, e))?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| CaError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| CaError::io(path, e))
}

fn read(path: &Path) -> Result<String, CaError> {
    fs::read_to_string(path).map_err(|e| CaError::io(path, e))
}

impl CaDir {
    pub const CERT: &'static str = "ca.pem";
    pub const KEY: &'static str = "ca.key";
    pub const STATE: &'static str = "state.json";
    pub const CRL: &'static str = "crl.pem";

    /// Create a new CA in `dir` with a fresh key. Refuses a directory that already holds a CA key.
    pub fn init(dir: &Path, org: &str, subject: Option<&str>, days: u32, now: SystemTime) -> Result<Self, CaError> {
        Self::init_with_key(dir, org, subject, days, now, KeyPair::generate()?)
    }

    pub fn init_with_key(
        dir: &Path,
        org: &str,
        subject: Option<&str>,
        days: u32,
        now: SystemTime,
        key: KeyPair,
    ) -> Result<Self, CaError> {
        if days == 0 {
            return Err(CaError::input("days", "must be at least 1"));
        }
        if dir.join(Self::KEY).exists() {
            return Err(CaError::io(&dir.join(Self::KEY), "exists; refusing to replace an existing CA key"));
        }
        let authority = Authority::init(org, subject, Validity::days_from(now, days), key)?;
        fs::create_dir_all(dir).map_err(|e| CaError::io(dir, e))?;
        let state =
            State { org: authority.org().to_string(), next_serial: 2, crl_number: 0, issued: vec![], revoked: vec![] };
        let mut ca = CaDir { dir: dir.to_path_buf(), authority, state };
        write_atomic(&dir.join(Self::KEY), ca.authority.key().to_pkcs8_pem()?.as_bytes(), true)?;
        write_atomic(&dir.join(Self::CERT), ca.authority.certificate().to_pem()?.as_bytes(), false)?;
        ca.publish_crl(now)?;
        Ok(ca)
    }

    pub fn open(dir: &Path) -> Result<Self, CaError> {
        let state_path = dir.join(Self::STATE);
        let state: State = serde_json::from_str(&read(&state_path)?)
            .map_err(|e| CaError::io(&state_path, format!("not a CA state file: {e}")))?;
        let cert = SmCertificate::from_pem(&read(&dir.join(Self::CERT))?)?;
        let key = KeyPair::from_pkcs8_pem(&read(&dir.join(Self::KEY))?)?;
        let authority = Authority::from_parts(&state.org, cert, key)?;
        Ok(CaDir { dir: dir.to_path_buf(), authority, state })
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn issued(&self) -> &[IssuedRecord] {
        &self.state.issued
    }
    pub fn revoked(&self) -> &[RevokedRecord] {
        &self.state.revoked
    }

    /// Issue a certificate valid from `now` for `days`, recording it before returning it.
    pub fn issue(
        &mut self,
        kind: CertKind,
        subject: &str,
        public_key: PublicKey,
        days: u32,
        subject_alt_names: Vec<String>,
        now: SystemTime,
    ) -> Result<SmCertificate, CaError> {
        if days == 0 {
            return Err(CaError::input("days", "must be at least 1"));
        }
        let serial = self.state.next_serial;
        let req = IssueRequest {
            kind,
            subject: subject.to_string(),
            public_key,
            validity: Validity::days_from(now, days),
            subject_alt_names,
        };
        let cert = self.authority.issue(serial, &req)?;
        let mut next = self.state.clone();
        next.next_serial = serial + 1;
        next.issued.push(IssuedRecord {
            serial,
            kind,
            subject: cert.subject(),
            not_after_unix: unix(cert.not_after()),
        });
        self.save(&next)?;
        self.state = next;
        Ok(cert)
    }

    /// Revoke an issued certificate and publish a new CRL; returns the CRL PEM.
    pub fn revoke(&mut self, serial: u64, reason: RevocationReason, now: SystemTime) -> Result<String, CaError> {
        if !self.state.issued.iter().any(|r| r.serial == serial) {
            return Err(CaError::Serial { serial, reason: "was not issued by this CA".into() });
        }
        if self.state.revoked.iter().any(|r| r.serial == serial) {
            return Err(CaError::Serial { serial, reason: "is already revoked".into() });
        }
        let mut next = self.state.clone();
        next.revoked.push(RevokedRecord { serial, reason, revoked_at_unix: unix(now) });
        let prev = std::mem::replace(&mut self.state, next);
        match self.publish_crl(now) {
            Ok(pem) => Ok(pem),
            Err(e) => {
                self.state = prev;
                Err(e)
            }
        }
    }

    /// Sign a fresh CRL valid from `now` for [`CRL_VALIDITY_DAYS`], write it and the state; returns the PEM.
    pub fn publish_crl(&mut self, now: SystemTime) -> Result<String, CaError> {
        let mut next = self.state.clone();
        next.crl_number += 1;
        let revoked: Vec<_> = next
            .revoked
            .iter()
            .map(|r| (r.serial, SystemTime::UNIX_EPOCH + Duration::from_secs(r.revoked_at_unix), r.reason))
            .collect();
        let window = Validity::days_from(now, CRL_VALIDITY_DAYS);
        let window = Validity {
            not_after: window.not_after.min(self.authority.certificate().not_after().max(now + Duration::from_secs(1))),
            ..window
        };
        let pem = self.authority.crl(next.crl_number, window, &revoked)?;
        self.save(&next)?;
        write_atomic(&self.dir.join(Self::CRL), pem.as_bytes(), false)?;
        self.state = next;
        Ok(pem)
    }

    fn save(&self, state: &State) -> Result<(), CaError> {
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| CaError::io(&self.dir.join(Self::STATE), format!("cannot encode state: {e}")))?;
        write_atomic(&self.dir.join(Self::STATE), &json, false)
    }
}
