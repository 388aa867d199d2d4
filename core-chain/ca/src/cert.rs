//! A decoded SM2 certificate with the facts the verifier needs pulled out once: the SM2 public key, the
//! signed bytes, serial and validity. Decoding refuses anything that is not SM2-with-SM3 over an SM2 key, so
//! the rest of the crate never meets another algorithm.

use std::time::SystemTime;

use der::{Decode, DecodePem, Encode, EncodePem};
use scf_ledger::crypto::{PublicKey, Signature};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::Certificate;

use crate::encode::serial_to_u64;
use crate::error::CaError;
use crate::profile::{EC_PUBLIC_KEY, SM2_CURVE, SM2_WITH_SM3};

/// Certificates are small; a bound keeps a hostile peer from making us parse megabytes.
pub const MAX_CERT_LEN: usize = 16 * 1024;

/// An SM2-with-SM3 certificate, decoded and checked for shape (not yet for trust).
#[derive(Clone, Debug)]
pub struct SmCertificate {
    cert: Certificate,
    der: Vec<u8>,
    tbs: Vec<u8>,
    public_key: PublicKey,
    serial: u64,
}

impl SmCertificate {
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        if der.len() > MAX_CERT_LEN {
            return Err(CaError::input("certificate", format!("{} bytes; at most {MAX_CERT_LEN}", der.len())));
        }
        let cert = Certificate::from_der(der).map_err(|e| CaError::encoding("certificate", e))?;
        Self::from_cert(cert, der.to_vec())
    }

    pub fn from_pem(pem: &str) -> Result<Self, CaError> {
        let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| CaError::encoding("certificate PEM", e))?;
        let der = cert.to_der().map_err(|e| CaError::encoding("certificate", e))?;
        Self::from_cert(cert, der)
    }

    /// Every certificate in a PEM bundle, in order.
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>, CaError> {
        let certs = Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| CaError::encoding("certificate PEM", e))?;
        certs
            .into_iter()
            .map(|c| {
                let der = c.to_der().map_err(|e| CaError::encoding("certificate", e))?;
                Self::from_cert(c, der)
            })
            .collect()
    }

    fn from_cert(cert: Certificate, der: Vec<u8>) -> Result<Self, CaError> {
        let tbs_cert = cert.tbs_certificate();
        if cert.signature_algorithm().oid != SM2_WITH_SM3 {
            return Err(CaError::SignatureAlgorithm {
                what: "certificate",
                found: cert.signature_algorithm().oid.to_string(),
            });
        }
        if tbs_cert.signature() != cert.signature_algorithm() {
            return Err(CaError::SignatureAlgorithmMismatch { what: "certificate" });
        }
        let public_key = sm2_public_key(tbs_cert.subject_public_key_info(), "certificate")?;
        let serial = serial_to_u64(tbs_cert.serial_number())?;
        let tbs = tbs_cert.to_der().map_err(|e| CaError::encoding("tbsCertificate", e))?;
        Ok(SmCertificate { cert, der, tbs, public_key, serial })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
    pub fn to_pem(&self) -> Result<String, CaError> {
        self.cert.to_pem(der::pem::LineEnding::LF).map_err(|e| CaError::encoding("certificate", e))
    }
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    pub fn serial(&self) -> u64 {
        self.serial
    }
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }
    /// The subject name as DER, e.g. for the CA hints a TLS server sends when asking for a client certificate.
    pub fn subject_der(&self) -> Result<Vec<u8>, CaError> {
        self.cert.tbs_certificate().subject().to_der().map_err(|e| CaError::encoding("subject", e))
    }
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }
    /// The subject's O attribute: which member organisation the certificate speaks for.
    pub fn organization(&self) -> Option<String> {
        self.cert.tbs_certificate().subject().organization().ok().flatten().map(|d| d.value().into_owned())
    }
    /// The subject's CN attribute (a device certificate's device id).
    pub fn common_name(&self) -> Option<String> {
        self.cert.tbs_certificate().subject().common_name().ok().flatten().map(|d| d.value().into_owned())
    }
    pub fn not_before(&self) -> SystemTime {
        self.cert.tbs_certificate().validity().not_before.to_system_time()
    }
    pub fn not_after(&self) -> SystemTime {
        self.cert.tbs_certificate().validity().not_after.to_system_time()
    }
    pub(crate) fn inner(&self) -> &Certificate {
        &self.cert
    }

    /// Check the SM2 signature with the distinguishing ID that certificates use (1234567812345678).
    pub(crate) fn verify_signed_by(&self, issuer_key: &PublicKey) -> Result<(), CaError> {
        let bad = || CaError::BadSignature { what: "certificate", subject: self.subject() };
        // DER: the signature BIT STRING has no unused bits. A count other than 0 (with zero padding bits,
        // which BER allows) would leave the signed bytes as they are and accept a modified certificate.
        if self.cert.signature().unused_bits() != 0 {
            return Err(bad());
        }
        let sig = Signature::from_der(self.cert.signature().raw_bytes()).map_err(|_| bad())?;
        issuer_key.verify(&self.tbs, &sig).map_err(|_| bad())
    }

    pub(crate) fn extension<T>(&self, name: &'static str) -> Result<Option<(bool, T)>, CaError>
    where
        T: for<'a> Decode<'a, Error = der::Error> + const_oid::AssociatedOid,
    {
        self.cert.tbs_certificate().get_extension::<T>().map_err(|e| CaError::Extension {
            subject: self.subject(),
            extension: name,
            reason: e.to_string(),
        })
    }

    pub(crate) fn basic_constraints(&self) -> Result<Option<BasicConstraints>, CaError> {
        Ok(self.extension::<BasicConstraints>("basicConstraints")?.map(|(_, v)| v))
    }
    pub(crate) fn key_usage(&self) -> Result<Option<KeyUsage>, CaError> {
        Ok(self.extension::<KeyUsage>("keyUsage")?.map(|(_, v)| v))
    }
    pub(crate) fn extended_key_usage(&self) -> Result<Option<ExtendedKeyUsage>, CaError> {
        Ok(self.extension::<ExtendedKeyUsage>("extendedKeyUsage")?.map(|(_, v)| v))
    }
    pub(crate) fn subject_key_id(&self) -> Result<Option<Vec<u8>>, CaError> {
        Ok(self.extension::<SubjectKeyIdentifier>("subjectKeyIdentifier")?.map(|(_, v)| v.0.as_bytes().to_vec()))
    }
    pub(crate) fn authority_key_id(&self) -> Result<Option<Vec<u8>>, CaError> {
        Ok(self
            .extension::<AuthorityKeyIdentifier>("authorityKeyIdentifier")?
            .and_then(|(_, v)| v.key_identifier.map(|k| k.as_bytes().to_vec())))
    }

    /// Subject alternative names as text: DNS names, IP addresses, URIs and e-mail addresses.
    pub fn subject_alt_names(&self) -> Result<Vec<String>, CaError> {
        use x509_cert::ext::pkix::name::GeneralName;
        let Some((_, san)) = self.extension::<SubjectAltName>("subjectAltName")? else {
            return Ok(Vec::new());
        };
        Ok(san
            .0
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(s) | GeneralName::UniformResourceIdentifier(s) | GeneralName::Rfc822Name(s) => {
                    Some(s.to_string())
                }
                GeneralName::IpAddress(o) => ip_from_octets(o.as_bytes()).map(|ip| ip.to_string()),
                _ => None,
            })
            .collect())
    }
}

fn ip_from_octets(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// The SM2 key inside a SubjectPublicKeyInfo: `id-ecPublicKey` with the named curve sm2, uncompressed point.
pub(crate) fn sm2_public_key(spki: &spki::SubjectPublicKeyInfoOwned, what: &'static str) -> Result<PublicKey, CaError> {
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return Err(CaError::PublicKey {
            what,
            reason: format!("algorithm {} is not id-ecPublicKey", spki.algorithm.oid),
        });
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
        .ok_or_else(|| CaError::PublicKey { what, reason: "curve parameter missing or not an OID".into() })?;
    if curve != SM2_CURVE {
        return Err(CaError::PublicKey { what, reason: format!("curve {curve} is not sm2 (1.2.156.10197.1.301)") });
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CaError::PublicKey { what, reason: "key bit string has unused bits".into() })?;
    PublicKey::from_bytes(bytes).map_err(|e| CaError::PublicKey { what, reason: e.to_string() })
}
