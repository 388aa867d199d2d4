//! Organisation CA certificates and certificate revocations, recorded on chain
//! ([`scf_ledger::org_ca`]): which CAs the consortium trusts for 国密 TLS between members, and which
//! certificates it has revoked. Founding organisations' CAs come from genesis (`app_state.org.orgs[].ca_certs`);
//! later ones, their removal and revocations come from committee proposals (`AddOrgCa`, `RemoveOrgCa`,
//! `RevokeCertificate`); removing an organisation removes its CAs. Nodes configured with
//! `p2p.tls_trust_on_chain` trust exactly these CAs and honour these revocations after every block.
//!
//! Rules:
//! - a CA is an X.509 v3 certificate signed SM2-with-SM3, self-issued and self-signed, with cA true and
//!   keyCertSign and cRLSign (the same checks every TLS endpoint makes of a trust anchor);
//! - it belongs to one active organisation, at most [`MAX_CAS_PER_ORG`] at a time (a new CA is added
//!   before the old one is removed, so certificates of both are valid during the overlap);
//! - no two organisations' CAs share a subject, since a peer's certificate names its issuer by subject;
//! - a revocation names a recorded CA by fingerprint and a serial, once.

use scf_ca::{RevocationReason, SmCertificate, TrustAnchor};
use scf_ledger::crypto::Hash32;
use scf_ledger::module::Event;
use scf_ledger::org_ca::{self as records, OrgCa, RevokedCert};
use scf_ledger::state::{StateRead, StateWrite};
use std::time::UNIX_EPOCH;

use crate::kv::{self, StoreError};
use crate::org::{self, OrgError, OrgStatus};

pub const MODULE: &str = "org";
/// Most CAs an organisation may have recorded at once.
pub const MAX_CAS_PER_ORG: usize = 4;
/// Most certificates revoked on chain (CRLs carry the rest).
pub const MAX_REVOKED: usize = 10_000;

fn invalid(field: &str, reason: impl Into<String>) -> OrgError {
    OrgError::Invalid { field: field.to_string(), reason: reason.into() }
}

fn backend(e: scf_ledger::state::StateError) -> OrgError {
    OrgError::Store(StoreError::Backend(e.0))
}

/// The CAs recorded now.
pub fn cas(state: &dyn StateRead) -> Result<Vec<OrgCa>, OrgError> {
    records::org_cas(state).map_err(backend)
}

/// The certificates revoked on chain.
pub fn revoked(state: &dyn StateRead) -> Result<Vec<RevokedCert>, OrgError> {
    records::revoked_certs(state).map_err(backend)
}

/// A certificate's fingerprint: SM3 of its DER.
pub fn fingerprint(der: &[u8]) -> Hash32 {
    Hash32::of(der)
}

/// Check that `der` may become a CA of `org_id` now; the record it would be (at `height`).
pub fn check_add(state: &dyn StateRead, org_id: &str, der: &[u8], height: u64) -> Result<OrgCa, OrgError> {
    checked_add(state, org_id, der, height).map(|(ca, _)| ca)
}

/// The record `der` would be, and the CAs recorded now (read once).
fn checked_add(state: &dyn StateRead, org_id: &str, der: &[u8], height: u64) -> Result<(OrgCa, Vec<OrgCa>), OrgError> {
    let o = org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.to_string() })?;
    if let OrgStatus::Frozen { reason } = o.status {
        return Err(OrgError::OrgFrozen { org: o.id, reason });
    }
    let cert = SmCertificate::from_der(der).map_err(|e| invalid("certificate", e.to_string()))?;
    let anchor = TrustAnchor::new(cert).map_err(|e| invalid("certificate", e.to_string()))?;
    let cert = anchor.certificate();
    let subject = cert.subject();
    let fp = fingerprint(der);
    let all = cas(state)?;
    if all.iter().any(|c| c.fingerprint == fp) {
        return Err(invalid("certificate", format!("{subject} is already recorded")));
    }
    if let Some(other) = all.iter().find(|c| c.subject == subject && c.org != org_id) {
        return Err(invalid("certificate", format!("subject {subject} is already the CA of {}", other.org)));
    }
    if all.iter().filter(|c| c.org == org_id).count() >= MAX_CAS_PER_ORG {
        return Err(invalid("org_id", format!("{org_id} already has {MAX_CAS_PER_ORG} CAs; remove one first")));
    }
    let not_after_ms = cert
        .not_after()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Ok((OrgCa { org: org_id.to_string(), der: der.to_vec(), fingerprint: fp, subject, not_after_ms, height }, all))
}

/// Record `der` as a CA of `org_id` (genesis and governance).
pub fn add(state: &mut dyn StateWrite, org_id: &str, der: &[u8], height: u64) -> Result<Event, OrgError> {
    let (ca, mut all) = checked_add(state, org_id, der, height)?;
    all.push(ca.clone());
    records::put_org_cas(state, &all);
    Ok(kv::event(
        MODULE,
        "OrgCaAdded",
        &[("org", org_id), ("fingerprint", &ca.fingerprint.to_hex())],
        &serde_json::json!({ "org": org_id, "subject": ca.subject, "fingerprint": ca.fingerprint,
                             "not_after_ms": ca.not_after_ms }),
    ))
}

/// Check that `fingerprint` is a CA of `org_id`.
pub fn check_remove(state: &dyn StateRead, org_id: &str, fingerprint: &Hash32) -> Result<(), OrgError> {
    match cas(state)?.iter().find(|c| c.fingerprint == *fingerprint) {
        Some(c) if c.org == org_id => Ok(()),
        Some(c) => Err(invalid("fingerprint", format!("{fingerprint} is a CA of {}, not of {org_id}", c.org))),
        None => Err(invalid("fingerprint", format!("no CA {fingerprint} is recorded"))),
    }
}

/// Stop trusting the CAs `which` selects; their revocations go with them (nothing they issued is
/// trusted any more). One event per CA removed.
fn remove_where(state: &mut dyn StateWrite, which: impl Fn(&OrgCa) -> bool) -> Result<Vec<Event>, OrgError> {
    let (gone, kept): (Vec<OrgCa>, Vec<OrgCa>) = cas(state)?.into_iter().partition(|c| which(c));
    if gone.is_empty() {
        return Ok(Vec::new());
    }
    records::put_org_cas(state, &kept);
    let mut rev = revoked(state)?;
    rev.retain(|r| !gone.iter().any(|c| c.fingerprint == r.ca));
    records::put_revoked_certs(state, &rev);
    Ok(gone
        .iter()
        .map(|c| {
            kv::event(
                MODULE,
                "OrgCaRemoved",
                &[("org", &c.org), ("fingerprint", &c.fingerprint.to_hex())],
                &serde_json::json!({ "org": c.org, "subject": c.subject, "fingerprint": c.fingerprint }),
            )
        })
        .collect())
}

/// Remove one CA of `org_id`.
pub fn remove(state: &mut dyn StateWrite, org_id: &str, fingerprint: &Hash32) -> Result<Vec<Event>, OrgError> {
    check_remove(state, org_id, fingerprint)?;
    remove_where(state, |c| c.fingerprint == *fingerprint)
}

/// Remove every CA of `org_id` (the organisation leaves the consortium).
pub fn remove_org(state: &mut dyn StateWrite, org_id: &str) -> Result<Vec<Event>, OrgError> {
    remove_where(state, |c| c.org == org_id)
}

/// Check a revocation; the record it would be (at `height`).
pub fn check_revoke(
    state: &dyn StateRead,
    ca: &Hash32,
    serial: u64,
    reason: &str,
    height: u64,
) -> Result<RevokedCert, OrgError> {
    checked_revoke(state, ca, serial, reason, height).map(|(r, _)| r)
}

/// The record a revocation would be, and the revocations recorded now (read once).
fn checked_revoke(
    state: &dyn StateRead,
    ca: &Hash32,
    serial: u64,
    reason: &str,
    height: u64,
) -> Result<(RevokedCert, Vec<RevokedCert>), OrgError> {
    let issuer = cas(state)?
        .into_iter()
        .find(|c| c.fingerprint == *ca)
        .ok_or_else(|| invalid("ca", format!("no CA {ca} is recorded")))?;
    if serial == 0 {
        return Err(invalid("serial", "serials are positive"));
    }
    let reason: RevocationReason = reason.parse().map_err(|e: scf_ca::CaError| invalid("reason", e.to_string()))?;
    let all = revoked(state)?;
    if all.iter().any(|r| r.ca == *ca && r.serial == serial) {
        return Err(invalid("serial", format!("serial {serial} of {} is already revoked", issuer.subject)));
    }
    if all.len() >= MAX_REVOKED {
        return Err(invalid(
            "serial",
            format!("at most {MAX_REVOKED} certificates are revoked on chain; use the CA's CRL"),
        ));
    }
    Ok((RevokedCert { ca: *ca, issuer: issuer.subject, serial, reason: reason.as_str().to_string(), height }, all))
}

/// Revoke certificate `serial` of the CA `ca`.
pub fn revoke(
    state: &mut dyn StateWrite,
    ca: &Hash32,
    serial: u64,
    reason: &str,
    height: u64,
) -> Result<Event, OrgError> {
    let (r, mut all) = checked_revoke(state, ca, serial, reason, height)?;
    all.push(r.clone());
    records::put_revoked_certs(state, &all);
    Ok(kv::event(MODULE, "CertificateRevoked", &[("fingerprint", &ca.to_hex()), ("serial", &serial.to_string())], &r))
}
