//! sm2sig_sm3 (0x0708) for TLS 1.3 CertificateVerify. RFC 8998 fixes the SM2 distinguishing ID inside
//! TLS 1.3 to "TLSv1.3+GM+Cipher+Suite" — not the 1234567812345678 that certificates and the chain use — and
//! the signature travels DER-encoded like ECDSA.

use std::sync::Arc;

use rustls::crypto::KeyProvider;
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::{Signer, SigningKey};
use rustls::{Error, SignatureAlgorithm, SignatureScheme};
use scf_ledger::crypto::{PublicKey, Signature};
use sm2::dsa::signature::Signer as _;
use sm2::pkcs8::DecodePrivateKey;

/// sm2sig_sm3, 0x0708.
pub const SM2SIG_SM3_ID: u16 = 0x0708;
/// The SM2 identifier for signatures inside TLS 1.3 (RFC 8998).
pub const TLS13_SM2_ID: &str = "TLSv1.3+GM+Cipher+Suite";

pub fn sm2sig_sm3() -> SignatureScheme {
    SignatureScheme::from(SM2SIG_SM3_ID)
}

/// Verify a TLS 1.3 CertificateVerify signature by `key` over `message` (rustls passes the full signed
/// content: 64 spaces, context string, 0, transcript hash).
pub(crate) fn verify_tls13(key: &PublicKey, message: &[u8], der_sig: &[u8]) -> Result<(), Error> {
    let sig =
        Signature::from_der(der_sig).map_err(|_| Error::InvalidCertificate(rustls::CertificateError::BadSignature))?;
    key.verify_with_id(TLS13_SM2_ID, message, &sig)
        .map_err(|_| Error::InvalidCertificate(rustls::CertificateError::BadSignature))
}

/// An SM2 private key that signs CertificateVerify messages.
#[derive(Debug)]
pub struct Sm2SigningKey {
    key: Arc<sm2::dsa::SigningKey>,
}

impl Sm2SigningKey {
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, Error> {
        let sk = sm2::SecretKey::from_slice(secret)
            .map_err(|_| Error::General("SM2 private key: not a valid scalar".into()))?;
        Self::from_secret(&sk)
    }
    fn from_secret(sk: &sm2::SecretKey) -> Result<Self, Error> {
        let key = sm2::dsa::SigningKey::new(TLS13_SM2_ID, sk)
            .map_err(|_| Error::General("SM2 private key: not usable for signing".into()))?;
        Ok(Sm2SigningKey { key: Arc::new(key) })
    }
}

impl SigningKey for Sm2SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered.contains(&sm2sig_sm3()).then(|| Box::new(Sm2Signer(self.key.clone())) as Box<dyn Signer>)
    }
    /// SM2 has no TLS 1.2 SignatureAlgorithm code; rustls consults this only to pick TLS 1.2 suites, which
    /// this provider does not offer. ECDSA is the nearest family.
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

#[derive(Debug)]
struct Sm2Signer(Arc<sm2::dsa::SigningKey>);

impl Signer for Sm2Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let sig: sm2::dsa::Signature =
            self.0.try_sign(message).map_err(|e| Error::General(format!("SM2 sign: {e}")))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
    fn scheme(&self) -> SignatureScheme {
        sm2sig_sm3()
    }
}

/// Loads SM2 keys from PKCS#8 DER (what `openssl genpkey -algorithm SM2` and `scf keygen` write).
#[derive(Debug)]
pub struct Sm2KeyProvider;

impl KeyProvider for Sm2KeyProvider {
    fn load_private_key(&self, key_der: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        let sk = match &key_der {
            PrivateKeyDer::Pkcs8(der) => sm2::SecretKey::from_pkcs8_der(der.secret_pkcs8_der())
                .map_err(|e| Error::General(format!("SM2 private key: not PKCS#8 SM2: {e}")))?,
            PrivateKeyDer::Sec1(der) => sm2::SecretKey::from_sec1_der(der.secret_sec1_der())
                .map_err(|e| Error::General(format!("SM2 private key: not SEC1 SM2: {e}")))?,
            _ => return Err(Error::General("SM2 private key: only PKCS#8 or SEC1 DER".into())),
        };
        Ok(Arc::new(Sm2SigningKey::from_secret(&sk)?))
    }
}
