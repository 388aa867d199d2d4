//! Revocation. A verifier asks a [`RevocationCheck`] on every verification rather than holding a snapshot,
//! so a TLS server built once sees a certificate revoked after it started. CRLs are X.509 v2, signed
//! SM2-with-SM3 by the organisation CA, and are accepted only after their signature and window check out.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::SystemTime;

use der::{Decode, DecodePem, Encode};
use scf_ledger::crypto::Signature;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlReason;

use crate::encode::serial_to_u64;
use crate::error::CaError;
use crate::profile::{RevocationReason, SM2_WITH_SM3};
use crate::verify::TrustStore;

/// CRLs of a consortium CA stay small; the bound stops a hostile file from costing memory.
pub const MAX_CRL_LEN: usize = 4 * 1024 * 1024;

/// Answers "is serial N of issuer X revoked?" for the verifier.
pub trait RevocationCheck: Send + Sync {
    /// `issuer` is the issuing CA's subject as text (RFC 4514 form).
    fn revoked(&self, issuer: &str, serial: u64) -> Option<RevocationReason>;
}

/// Accepts every certificate; for tests and for callers that check revocation elsewhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRevocation;

impl RevocationCheck for NoRevocation {
    fn revoked(&self, _issuer: &str, _serial: u64) -> Option<RevocationReason> {
        None
    }
}

/// Revoked serials per issuer, from verified CRLs or from on-chain records.
#[derive(Debug, Default, Clone)]
pub struct RevokedSerials {
    by_issuer: HashMap<String, BTreeMap<u64, RevocationReason>>,
}

impl RevokedSerials {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, issuer: &str, serial: u64, reason: RevocationReason) {
        self.by_issuer.entry(issuer.to_string()).or_default().insert(serial, reason);
    }
    /// Replace what is known of `crl`'s issuer with the CRL's list: a newer CRL supersedes the older one.
    pub fn apply_crl(&mut self, crl: &VerifiedCrl) {
        self.by_issuer.insert(crl.issuer.clone(), crl.revoked.clone());
    }
    pub fn len(&self) -> usize {
        self.by_issuer.values().map(BTreeMap::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RevocationCheck for RevokedSerials {
    fn revoked(&self, issuer: &str, serial: u64) -> Option<RevocationReason> {
        self.by_issuer.get(issuer).and_then(|m| m.get(&serial)).copied()
    }
}

/// A revocation set that can be replaced while servers hold it: updates take effect at the next handshake.
#[derive(Debug, Default)]
pub struct SharedRevocations(RwLock<RevokedSerials>);

impl SharedRevocations {
    pub fn new(initial: RevokedSerials) -> Self {
        SharedRevocations(RwLock::new(initial))
    }
    pub fn update(&self, f: impl FnOnce(&mut RevokedSerials)) {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }
}

impl RevocationCheck for SharedRevocations {
    fn revoked(&self, issuer: &str, serial: u64) -> Option<RevocationReason> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).revoked(issuer, serial)
    }
}

/// Revoked if any source says so: CRL files and the revocations recorded on chain, for instance.
#[derive(Clone, Default)]
pub struct AnyRevocation(pub Vec<std::sync::Arc<dyn RevocationCheck>>);

impl RevocationCheck for AnyRevocation {
    fn revoked(&self, issuer: &str, serial: u64) -> Option<RevocationReason> {
        self.0.iter().find_map(|c| c.revoked(issuer, serial))
    }
}

/// A CRL whose signature was checked against a trusted CA and whose window covers the time it was checked at.
#[derive(Debug, Clone)]
pub struct VerifiedCrl {
    pub issuer: String,
    pub this_update: SystemTime,
    pub next_update: Option<SystemTime>,
    pub crl_number: Option<u64>,
    pub revoked: BTreeMap<u64, RevocationReason>,
}

impl VerifiedCrl {
    pub fn from_pem(pem: &str, trust: &TrustStore, at: SystemTime) -> Result<Self, CaError> {
        let crl = CertificateList::from_pem(pem.as_bytes()).map_err(|e| CaError::encoding("CRL PEM", e))?;
        Self::check(crl, trust, at)
    }

    pub fn from_der(der: &[u8], trust: &TrustStore, at: SystemTime) -> Result<Self, CaError> {
        if der.len() > MAX_CRL_LEN {
            return Err(CaError::input("CRL", format!("{} bytes; at most {MAX_CRL_LEN}", der.len())));
        }
        let crl = CertificateList::from_der(der).map_err(|e| CaError::encoding("CRL", e))?;
        Self::check(crl, trust, at)
    }

    fn check(crl: CertificateList, trust: &TrustStore, at: SystemTime) -> Result<Self, CaError> {
        let tbs = &crl.tbs_cert_list;
        let issuer = tbs.issuer.to_string();
        let fail = |reason: String| CaError::Crl { issuer: issuer.clone(), reason };
        if crl.signature_algorithm.oid != SM2_WITH_SM3 {
            return Err(CaError::SignatureAlgorithm { what: "CRL", found: crl.signature_algorithm.oid.to_string() });
        }
        if tbs.signature != crl.signature_algorithm {
            return Err(CaError::SignatureAlgorithmMismatch { what: "CRL" });
        }
        let anchor = trust
            .anchors()
            .iter()
            .find(|a| a.certificate().subject() == issuer)
            .ok_or_else(|| fail("issuer is not a trusted CA".into()))?;
        let signed = tbs.to_der().map_err(|e| CaError::encoding("tbsCertList", e))?;
        // DER: no unused bits in the signature BIT STRING (see SmCertificate::verify_signed_by).
        if crl.signature.unused_bits() != 0 {
            return Err(CaError::BadSignature { what: "CRL", subject: issuer.clone() });
        }
        let sig = Signature::from_der(crl.signature.raw_bytes())
            .map_err(|_| CaError::BadSignature { what: "CRL", subject: issuer.clone() })?;
        anchor
            .certificate()
            .public_key()
            .verify(&signed, &sig)
            .map_err(|_| CaError::BadSignature { what: "CRL", subject: issuer.clone() })?;
        let this_update = tbs.this_update.to_system_time();
        let next_update = tbs.next_update.map(|t| t.to_system_time());
        if at < this_update {
            return Err(fail("thisUpdate is in the future".into()));
        }
        if next_update.is_some_and(|n| at > n) {
            return Err(fail("nextUpdate has passed; a fresh CRL is needed".into()));
        }
        let mut revoked = BTreeMap::new();
        for entry in tbs.revoked_certificates.iter().flatten() {
            let serial = serial_to_u64(&entry.serial_number)?;
            let reason = entry
                .crl_entry_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
                .map(|e| {
                    CrlReason::from_der(e.extn_value.as_bytes())
                        .map(RevocationReason::from_x509)
                        .map_err(|e| fail(format!("reasonCode of serial {serial}: {e}")))
                })
                .transpose()?
                .unwrap_or(RevocationReason::Unspecified);
            revoked.insert(serial, reason);
        }
        let crl_number = tbs
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
            .and_then(|e| x509_cert::ext::pkix::CrlNumber::from_der(e.extn_value.as_bytes()).ok())
            .and_then(|n| {
                let b = n.0.as_bytes();
                (b.len() <= 8).then(|| b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
            });
        Ok(VerifiedCrl { issuer, this_update, next_update, crl_number, revoked })
    }
}
