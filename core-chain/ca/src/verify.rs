//! Trust decisions: is this certificate issued by one of the consortium's organisation CAs, valid now, fit
//! for the purpose it is presented for, and not revoked? Chains are one level deep (organisation CA → leaf,
//! `pathLenConstraint` 0), so there is no path building to get wrong.

use std::collections::HashSet;
use std::time::SystemTime;

use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use const_oid::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

use crate::cert::SmCertificate;
use crate::crl::RevocationCheck;
use crate::error::CaError;
use crate::profile::Purpose;

/// Extensions this verifier understands; any other extension marked critical makes a certificate unusable
/// (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: [ObjectIdentifier; 6] = [
    const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
    const_oid::db::rfc5280::ID_CE_KEY_USAGE,
    const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
    const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
    const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// One organisation CA certificate that the consortium trusts.
#[derive(Clone, Debug)]
pub struct TrustAnchor {
    cert: SmCertificate,
    key_id: Option<Vec<u8>>,
}

impl TrustAnchor {
    /// Accepts a CA certificate only if it is self-signed, marked CA and allowed to sign certificates and CRLs.
    pub fn new(cert: SmCertificate) -> Result<Self, CaError> {
        let subject = cert.subject();
        if cert.issuer() != subject {
            return Err(CaError::Extension {
                subject,
                extension: "issuer",
                reason: "a trust anchor must be self-issued".into(),
            });
        }
        cert.verify_signed_by(cert.public_key())?;
        match cert.basic_constraints()? {
            Some(bc) if bc.ca => {}
            _ => {
                return Err(CaError::Extension {
                    subject,
                    extension: "basicConstraints",
                    reason: "cA is not true".into(),
                })
            }
        }
        let ku = cert.key_usage()?.ok_or_else(|| CaError::Extension {
            subject: subject.clone(),
            extension: "keyUsage",
            reason: "missing on a CA certificate".into(),
        })?;
        for (bit, name) in [(KeyUsages::KeyCertSign, "keyCertSign"), (KeyUsages::CRLSign, "cRLSign")] {
            if !ku.0.contains(bit) {
                return Err(CaError::Extension {
                    subject,
                    extension: "keyUsage",
                    reason: format!("{name} not set on a CA certificate"),
                });
            }
        }
        let key_id = cert.subject_key_id()?;
        Ok(TrustAnchor { cert, key_id })
    }

    pub fn certificate(&self) -> &SmCertificate {
        &self.cert
    }
    /// The organisation this CA speaks for (its subject's O attribute, or the whole subject if none).
    pub fn organization(&self) -> String {
        self.cert.organization().unwrap_or_else(|| self.cert.subject())
    }
}

/// The consortium's organisation CAs.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor>,
}

/// What a successful verification tells the caller about the peer.
#[derive(Clone, Debug)]
pub struct VerifiedCert {
    pub certificate: SmCertificate,
    /// The organisation whose CA issued the certificate: the member the peer speaks for.
    pub organization: String,
    pub issuer: String,
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store from a PEM bundle of organisation CA certificates.
    pub fn from_pem(pem: &str) -> Result<Self, CaError> {
        let mut store = Self::new();
        for cert in SmCertificate::all_from_pem(pem)? {
            store.add(cert)?;
        }
        if store.anchors.is_empty() {
            return Err(CaError::input("trusted CAs", "the PEM bundle holds no certificate"));
        }
        Ok(store)
    }

    pub fn add(&mut self, cert: SmCertificate) -> Result<(), CaError> {
        self.anchors.push(TrustAnchor::new(cert)?);
        Ok(())
    }

    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// The anchor that signed `cert`: same name, same key identifier when both carry one, and a signature
    /// that verifies under its key.
    pub fn issuer_of(&self, cert: &SmCertificate) -> Result<&TrustAnchor, CaError> {
        let issuer = cert.issuer();
        let aki = cert.authority_key_id()?;
        let mut last_err = None;
        for anchor in self.anchors.iter().filter(|a| a.cert.subject() == issuer) {
            if let (Some(a), Some(k)) = (&aki, &anchor.key_id) {
                if a != k {
                    continue;
                }
            }
            match cert.verify_signed_by(anchor.cert.public_key()) {
                Ok(()) => return Ok(anchor),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or(CaError::UnknownIssuer { subject: cert.subject(), issuer }))
    }

    /// Full check of an end-entity certificate for `purpose` at time `at`.
    pub fn verify(
        &self,
        der: &[u8],
        purpose: Purpose,
        at: SystemTime,
        revocation: &dyn RevocationCheck,
    ) -> Result<VerifiedCert, CaError> {
        let cert = SmCertificate::from_der(der)?;
        self.verify_cert(cert, purpose, at, revocation)
    }

    pub fn verify_cert(
        &self,
        cert: SmCertificate,
        purpose: Purpose,
        at: SystemTime,
        revocation: &dyn RevocationCheck,
    ) -> Result<VerifiedCert, CaError> {
        let anchor = self.issuer_of(&cert)?;
        check_validity(&anchor.cert, at)?;
        check_validity(&cert, at)?;
        check_critical_extensions(&cert)?;
        check_end_entity(&cert, purpose)?;
        let issuer = anchor.cert.subject();
        if let Some(reason) = revocation.revoked(&issuer, cert.serial()) {
            return Err(CaError::Revoked {
                subject: cert.subject(),
                serial: cert.serial(),
                issuer,
                reason: reason.to_string(),
            });
        }
        Ok(VerifiedCert { organization: anchor.organization(), issuer, certificate: cert })
    }
}

fn fmt_time(t: SystemTime) -> String {
    match x509_cert::time::Time::try_from(t) {
        Ok(t) => t.to_string(),
        Err(_) => format!("{t:?}"),
    }
}

fn check_validity(cert: &SmCertificate, at: SystemTime) -> Result<(), CaError> {
    if at < cert.not_before() {
        return Err(CaError::NotYetValid {
            subject: cert.subject(),
            not_before: fmt_time(cert.not_before()),
            at: fmt_time(at),
        });
    }
    if at > cert.not_after() {
        return Err(CaError::Expired {
            subject: cert.subject(),
            not_after: fmt_time(cert.not_after()),
            at: fmt_time(at),
        });
    }
    Ok(())
}

fn check_critical_extensions(cert: &SmCertificate) -> Result<(), CaError> {
    let known: HashSet<ObjectIdentifier> = KNOWN_EXTENSIONS.into_iter().collect();
    for ext in cert.inner().tbs_certificate().extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
        if ext.critical && !known.contains(&ext.extn_id) {
            return Err(CaError::UnknownCriticalExtension { subject: cert.subject(), oid: ext.extn_id.to_string() });
        }
    }
    Ok(())
}

/// An end-entity certificate must not be a CA, must allow digital signatures, and for TLS must name the
/// side of the handshake it is used on.
fn check_end_entity(cert: &SmCertificate, purpose: Purpose) -> Result<(), CaError> {
    let subject = cert.subject();
    if cert.basic_constraints()?.is_some_and(|bc| bc.ca) {
        return Err(CaError::Extension {
            subject,
            extension: "basicConstraints",
            reason: "a CA certificate cannot be used as an end-entity certificate".into(),
        });
    }
    if let Some(ku) = cert.key_usage()? {
        if !ku.0.contains(KeyUsages::DigitalSignature) {
            return Err(CaError::Extension {
                subject,
                extension: "keyUsage",
                reason: "digitalSignature not set".into(),
            });
        }
    }
    let wanted = match purpose {
        Purpose::ServerAuth => Some((ID_KP_SERVER_AUTH, "serverAuth")),
        Purpose::ClientAuth => Some((ID_KP_CLIENT_AUTH, "clientAuth")),
        Purpose::Signing => None,
    };
    if let Some((oid, name)) = wanted {
        let eku = cert.extended_key_usage()?.ok_or_else(|| CaError::Extension {
            subject: subject.clone(),
            extension: "extendedKeyUsage",
            reason: format!("missing; {name} is required"),
        })?;
        if !eku.0.contains(&oid) {
            return Err(CaError::Extension {
                subject,
                extension: "extendedKeyUsage",
                reason: format!("{name} not allowed for this certificate"),
            });
        }
    }
    Ok(())
}
