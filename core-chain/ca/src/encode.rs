//! DER encoding of what this CA signs. `x509-cert` decodes certificates and CRLs but keeps the fields of its
//! to-be-signed structures private to its builder; these structs have the same ASN.1 layout (RFC 5280 §4.1
//! and §5.1) so the bytes signed here are exactly the bytes `x509-cert` (and OpenSSL) later decode.

use std::time::{Duration, SystemTime};

use der::asn1::{AnyRef, BitString, OctetString};
use der::{Decode, Encode, Sequence};
use scf_ledger::crypto::{sm3, KeyPair};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::Version;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::CaError;
use crate::profile::{EC_PUBLIC_KEY, SM2_CURVE, SM2_WITH_SM3};

#[derive(Sequence)]
pub(crate) struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub version: Version,
    pub serial_number: SerialNumber,
    pub signature: AlgorithmIdentifierOwned,
    pub issuer: Name,
    pub validity: Validity,
    pub subject: Name,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    pub extensions: Extensions,
}

#[derive(Sequence)]
pub(crate) struct TbsCertList {
    pub version: Version,
    pub signature: AlgorithmIdentifierOwned,
    pub issuer: Name,
    pub this_update: Time,
    pub next_update: Time,
    pub revoked_certificates: Option<Vec<RevokedCert>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub crl_extensions: Extensions,
}

/// `Certificate` and `CertificateList` share this outer shape: signed bytes, algorithm, signature.
#[derive(Sequence)]
struct Signed<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// SM2-with-SM3 with the parameters absent, as GM/T 0015 and OpenSSL write it.
pub(crate) fn sm2_with_sm3() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: SM2_WITH_SM3, parameters: None }
}

/// Sign `tbs` (a DER SEQUENCE) with the CA key and wrap it. The signature uses the default distinguishing ID
/// 1234567812345678, which GM/T 0015 prescribes for certificates and OpenSSL 3 assumes when verifying them.
pub(crate) fn sign_der(tbs: &[u8], key: &KeyPair, what: &'static str) -> Result<Vec<u8>, CaError> {
    let sig = key.sign(tbs).to_der()?;
    let signed = Signed {
        tbs: AnyRef::from_der(tbs).map_err(|e| CaError::encoding(what, e))?,
        algorithm: sm2_with_sm3(),
        signature: BitString::from_bytes(&sig).map_err(|e| CaError::encoding(what, e))?,
    };
    signed.to_der().map_err(|e| CaError::encoding(what, e))
}

pub(crate) fn extension<T: Encode + const_oid::AssociatedOid>(value: &T, critical: bool) -> Result<Extension, CaError> {
    let der = value.to_der().map_err(|e| CaError::encoding("extension", e))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(|e| CaError::encoding("extension", e))?,
    })
}

/// SubjectPublicKeyInfo for an SM2 key: `id-ecPublicKey` with the named curve sm2.
pub(crate) fn sm2_spki(public: &scf_ledger::crypto::PublicKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: EC_PUBLIC_KEY,
            parameters: Some(der::Any::encode_from(&SM2_CURVE).map_err(|e| CaError::encoding("public key", e))?),
        },
        subject_public_key: BitString::from_bytes(public.as_bytes()).map_err(|e| CaError::encoding("public key", e))?,
    })
}

/// Key identifier: the leftmost 160 bits of SM3 over the public key bit string (RFC 7093 method 1 with the
/// national hash in place of SHA-256), so the CA needs no SHA-1.
pub(crate) fn key_identifier(public: &scf_ledger::crypto::PublicKey) -> Result<OctetString, CaError> {
    OctetString::new(&sm3(public.as_bytes())[..20]).map_err(|e| CaError::encoding("key identifier", e))
}

/// A positive INTEGER for the serial; `SerialNumber::new` takes the unsigned big-endian magnitude.
pub(crate) fn serial_number(serial: u64) -> Result<SerialNumber, CaError> {
    let bytes = serial.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    SerialNumber::new(&bytes[first..]).map_err(|e| CaError::encoding("serialNumber", e))
}

/// Reads a serial back as the u64 this CA family issues; anything longer is not one of ours.
pub(crate) fn serial_to_u64(serial: &SerialNumber) -> Result<u64, CaError> {
    let bytes = serial.as_bytes();
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[],
    };
    if trimmed.len() > 8 {
        return Err(CaError::input("serialNumber", format!("{} bytes; serials of this CA fit in 8", trimmed.len())));
    }
    let mut out = [0u8; 8];
    out[8 - trimmed.len()..].copy_from_slice(trimmed);
    Ok(u64::from_be_bytes(out))
}

/// RFC 5280 time: UTCTime through 2049, GeneralizedTime after; whole seconds.
pub(crate) fn x509_time(t: SystemTime, field: &'static str) -> Result<Time, CaError> {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_err(|_| CaError::input(field, "before 1970"))?.as_secs();
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| CaError::input(field, format!("not representable in X.509: {e}")))?;
    Ok(Time::from(dt))
}
