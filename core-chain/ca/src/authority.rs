//! The organisation CA itself: a self-signed SM2 certificate and its key, issuing end-entity certificates
//! and CRLs. Pure: no files, no clock — the caller passes serials and times, so issuance is reproducible in
//! tests and the directory layout lives in [`crate::store`].

use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::asn1::Ia5String;
use der::Encode;
use scf_ledger::crypto::{KeyPair, PublicKey};
use x509_cert::certificate::Version;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Validity as X509Validity;

use crate::cert::SmCertificate;
use crate::encode::{
    extension, key_identifier, serial_number, sign_der, sm2_spki, sm2_with_sm3, x509_time, TbsCertList, TbsCertificate,
};
use crate::error::CaError;
use crate::profile::{CertKind, RevocationReason};

/// Subject names and SANs are short; the bounds keep certificates well under [`crate::cert::MAX_CERT_LEN`].
const MAX_SUBJECT_LEN: usize = 1024;
const MAX_SANS: usize = 32;

/// When a certificate or CRL is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl Validity {
    pub fn days_from(start: SystemTime, days: u32) -> Self {
        Validity { not_before: start, not_after: start + Duration::from_secs(u64::from(days) * 86_400) }
    }
    fn check(&self, field: &'static str) -> Result<X509Validity, CaError> {
        if self.not_after <= self.not_before {
            return Err(CaError::input(field, "notAfter must be later than notBefore"));
        }
        Ok(X509Validity::new(x509_time(self.not_before, field)?, x509_time(self.not_after, field)?))
    }
}

/// What to certify.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub kind: CertKind,
    /// RFC 4514 text, e.g. `CN=node-1,O=Bank A`. An O attribute, if given, must be the CA's organisation;
    /// without one the organisation is added, so every certificate names the member it speaks for.
    pub subject: String,
    pub public_key: PublicKey,
    pub validity: Validity,
    /// DNS names, IP addresses, `scheme://` or `urn:` URIs (e.g. a node's libp2p peer id) or e-mail addresses.
    pub subject_alt_names: Vec<String>,
}

/// An organisation certificate authority: its certificate and signing key.
pub struct Authority {
    org: String,
    cert: SmCertificate,
    key: KeyPair,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("org", &self.org).field("subject", &self.cert.subject()).finish()
    }
}

impl Authority {
    /// Create the organisation's self-signed CA certificate (serial 1) for `key`. `subject` defaults to
    /// `CN=<org> CA,O=<org>`.
    pub fn init(org: &str, subject: Option<&str>, validity: Validity, key: KeyPair) -> Result<Self, CaError> {
        let org = org.trim();
        if org.is_empty() || org.len() > 256 {
            return Err(CaError::input("org", "must be 1 to 256 characters"));
        }
        let subject = match subject {
            Some(s) => s.to_string(),
            None => format!("CN={} CA,O={}", escape_rdn(org), escape_rdn(org)),
        };
        let name = subject_name(&subject, org)?;
        let ski = key_identifier(key.public())?;
        let extensions = vec![
            extension(&BasicConstraints { ca: true, path_len_constraint: Some(0) }, true)?,
            extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature), true)?,
            extension(&SubjectKeyIdentifier(ski.clone()), false)?,
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(ski),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
        ];
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial_number(1)?,
            signature: sm2_with_sm3(),
            issuer: name.clone(),
            validity: validity.check("validity")?,
            subject: name,
            subject_public_key_info: sm2_spki(key.public())?,
            extensions,
        };
        let der = sign_der(&tbs.to_der().map_err(|e| CaError::encoding("tbsCertificate", e))?, &key, "certificate")?;
        let cert = SmCertificate::from_der(&der)?;
        Ok(Authority { org: org.to_string(), cert, key })
    }

    /// Load an existing CA; the key must be the certificate's.
    pub fn from_parts(org: &str, cert: SmCertificate, key: KeyPair) -> Result<Self, CaError> {
        if cert.public_key() != key.public() {
            return Err(CaError::input("ca.key", "does not match the public key of ca.pem"));
        }
        Ok(Authority { org: org.to_string(), cert, key })
    }

    pub fn org(&self) -> &str {
        &self.org
    }
    pub fn certificate(&self) -> &SmCertificate {
        &self.cert
    }
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Issue an end-entity certificate with the fixed profile of `req.kind`.
    pub fn issue(&self, serial: u64, req: &IssueRequest) -> Result<SmCertificate, CaError> {
        if serial < 2 {
            return Err(CaError::Serial { serial, reason: "serials 0 and 1 are reserved (1 is the CA's own)".into() });
        }
        if req.validity.not_before < self.cert.not_before() || req.validity.not_after > self.cert.not_after() {
            return Err(CaError::input("validity", "must lie within the CA certificate's validity"));
        }
        let subject = subject_name(&req.subject, &self.org)?;
        if subject.to_string() == self.cert.subject() {
            return Err(CaError::input("subject", "must differ from the CA's own subject"));
        }
        let sans = parse_sans(&req.subject_alt_names)?;
        if req.kind.requires_san() && sans.is_empty() {
            return Err(CaError::input("san", format!("a {} certificate needs at least one name", req.kind)));
        }
        let mut extensions = vec![
            extension(&BasicConstraints { ca: false, path_len_constraint: None }, true)?,
            extension(&KeyUsage(req.kind.key_usage()), true)?,
            extension(&ExtendedKeyUsage(req.kind.extended_key_usage()), false)?,
            extension(&SubjectKeyIdentifier(key_identifier(&req.public_key)?), false)?,
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_identifier(self.key.public())?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
        ];
        if !sans.is_empty() {
            extensions.push(extension(&SubjectAltName(sans), false)?);
        }
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial_number(serial)?,
            signature: sm2_with_sm3(),
            issuer: self.name()?,
            validity: req.validity.check("validity")?,
            subject,
            subject_public_key_info: sm2_spki(&req.public_key)?,
            extensions,
        };
        let der =
            sign_der(&tbs.to_der().map_err(|e| CaError::encoding("tbsCertificate", e))?, &self.key, "certificate")?;
        SmCertificate::from_der(&der)
    }

    /// An X.509 v2 CRL listing `revoked` (serial, revocation time, reason), valid over `window`.
    pub fn crl(
        &self,
        crl_number: u64,
        window: Validity,
        revoked: &[(u64, SystemTime, RevocationReason)],
    ) -> Result<String, CaError> {
        let window = window.check("crl window")?;
        let mut entries = Vec::with_capacity(revoked.len());
        for (serial, at, reason) in revoked {
            entries.push(RevokedCert {
                serial_number: serial_number(*serial)?,
                revocation_date: x509_time(*at, "revocationDate")?,
                crl_entry_extensions: Some(vec![extension(&reason.to_x509(), false)?]),
            });
        }
        let number = der::asn1::Uint::new(&crl_number.to_be_bytes()).map_err(|e| CaError::encoding("cRLNumber", e))?;
        let tbs = TbsCertList {
            version: Version::V2,
            signature: sm2_with_sm3(),
            issuer: self.name()?,
            this_update: window.not_before,
            next_update: window.not_after,
            revoked_certificates: (!entries.is_empty()).then_some(entries),
            crl_extensions: vec![
                extension(
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(key_identifier(self.key.public())?),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    },
                    false,
                )?,
                extension(&CrlNumber(number), false)?,
            ],
        };
        let der = sign_der(&tbs.to_der().map_err(|e| CaError::encoding("tbsCertList", e))?, &self.key, "CRL")?;
        der::Document::try_from(der.as_slice())
            .and_then(|d| d.to_pem("X509 CRL", der::pem::LineEnding::LF))
            .map_err(|e| CaError::encoding("CRL", e))
    }

    fn name(&self) -> Result<Name, CaError> {
        Name::from_str(&self.cert.subject()).map_err(|e| CaError::encoding("CA subject", e))
    }
}

/// Escape an attribute value for RFC 4514 text.
fn escape_rdn(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == v.chars().count() - 1 && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn subject_name(subject: &str, org: &str) -> Result<Name, CaError> {
    if subject.trim().is_empty() || subject.len() > MAX_SUBJECT_LEN {
        return Err(CaError::input("subject", format!("must be 1 to {MAX_SUBJECT_LEN} characters")));
    }
    let parse = |s: &str| {
        Name::from_str(s).map_err(|e| CaError::input("subject", format!("{s:?} is not an RFC 4514 name: {e}")))
    };
    let name = parse(subject)?;
    let name_org = name
        .organization()
        .map_err(|e| CaError::input("subject", format!("O attribute unreadable: {e}")))?
        .map(|d| d.value().into_owned());
    match name_org {
        Some(o) if o == org => Ok(name),
        Some(o) => Err(CaError::input("subject", format!("O={o:?} but this CA certifies only {org:?}"))),
        None => parse(&format!("{subject},O={}", escape_rdn(org))),
    }
}

fn parse_sans(sans: &[String]) -> Result<Vec<GeneralName>, CaError> {
    if sans.len() > MAX_SANS {
        return Err(CaError::input("san", format!("{} names; at most {MAX_SANS}", sans.len())));
    }
    sans.iter()
        .map(|s| {
            let s = s.trim();
            let ia5 =
                |v: &str| Ia5String::new(v).map_err(|e| CaError::input("san", format!("{v:?} is not ASCII text: {e}")));
            if let Ok(ip) = IpAddr::from_str(s) {
                Ok(GeneralName::from(ip))
            } else if s.contains("://") || s.starts_with("urn:") {
                Ok(GeneralName::UniformResourceIdentifier(ia5(s)?))
            } else if s.contains('@') {
                Ok(GeneralName::Rfc822Name(ia5(s)?))
            } else if is_dns_name(s) {
                Ok(GeneralName::DnsName(ia5(s)?))
            } else {
                Err(CaError::input("san", format!("{s:?} is not a DNS name, IP address, URI or e-mail address")))
            }
        })
        .collect()
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').enumerate().all(|(i, label)| {
            let wildcard = i == 0 && label == "*";
            wildcard
                || (!label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}
