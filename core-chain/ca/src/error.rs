//! One error type for issuing, storing and verifying certificates. Every variant names the field or file it
//! is about and why it was refused, so an operator can act on the message without a debugger.

use std::path::PathBuf;

/// Why a certificate, CRL, key or CA directory was refused.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{what}: not valid DER/PEM: {reason}")]
    Encoding { what: &'static str, reason: String },
    #[error("{what}.signatureAlgorithm: {found} is not SM2-with-SM3 (1.2.156.10197.1.501)")]
    SignatureAlgorithm { what: &'static str, found: String },
    #[error("{what}: the signature algorithm inside the signed part differs from the outer one")]
    SignatureAlgorithmMismatch { what: &'static str },
    #[error("{what}.subjectPublicKeyInfo: {reason}")]
    PublicKey { what: &'static str, reason: String },
    #[error("certificate {subject}: issuer {issuer} is not a trusted CA")]
    UnknownIssuer { subject: String, issuer: String },
    #[error("{what} {subject}: the SM2 signature does not verify under the issuer's key")]
    BadSignature { what: &'static str, subject: String },
    #[error("certificate {subject}: not valid before {not_before} (checked at {at})")]
    NotYetValid { subject: String, not_before: String, at: String },
    #[error("certificate {subject}: expired at {not_after} (checked at {at})")]
    Expired { subject: String, not_after: String, at: String },
    #[error("certificate {subject}: extension {extension}: {reason}")]
    Extension { subject: String, extension: &'static str, reason: String },
    #[error("certificate {subject}: unknown critical extension {oid}")]
    UnknownCriticalExtension { subject: String, oid: String },
    #[error("certificate {subject}: serial {serial} was revoked by {issuer} ({reason})")]
    Revoked { subject: String, serial: u64, issuer: String, reason: String },
    #[error("CRL of {issuer}: {reason}")]
    Crl { issuer: String, reason: String },
    #[error("serial {serial}: {reason}")]
    Serial { serial: u64, reason: String },
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("key: {0}")]
    Key(#[from] scf_ledger::crypto::CryptoError),
}

impl CaError {
    pub(crate) fn input(field: &'static str, reason: impl Into<String>) -> Self {
        CaError::InvalidInput { field, reason: reason.into() }
    }
    pub(crate) fn encoding(what: &'static str, e: impl std::fmt::Display) -> Self {
        CaError::Encoding { what, reason: e.to_string() }
    }
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        CaError::Io { path: path.to_path_buf(), reason: e.to_string() }
    }
}
