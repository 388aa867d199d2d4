//! Server and client configurations for member-to-member links: TLS 1.3 only, TLS_SM4_GCM_SM3 only,
//! curveSM2 only, SM2 certificates from the consortium's CAs on both sides.

use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig};
use scf_ca::{Purpose, SmCertificate};
use scf_ledger::crypto::KeyPair;

use crate::error::GmTlsError;
use crate::sign::Sm2SigningKey;
use crate::verify::{ClientVerifier, ServerVerifier, Trust};

/// This side's certificate and the key it certifies.
#[derive(Clone)]
pub struct Identity {
    cert: SmCertificate,
    key: Arc<CertifiedKey>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("subject", &self.cert.subject()).finish()
    }
}

impl Identity {
    /// Pair a certificate with its key; refuses a key that is not the certificate's.
    pub fn new(cert: SmCertificate, key: &KeyPair) -> Result<Self, GmTlsError> {
        if cert.public_key() != key.public() {
            return Err(GmTlsError::Config {
                field: "key",
                reason: format!("is not the key certified by {}", cert.subject()),
            });
        }
        let signing = Sm2SigningKey::from_secret_bytes(&key.secret_bytes())?;
        let certified = CertifiedKey::new(vec![CertificateDer::from(cert.der().to_vec())], Arc::new(signing));
        Ok(Identity { cert, key: Arc::new(certified) })
    }

    /// From a certificate PEM and a PKCS#8 PEM key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, GmTlsError> {
        let cert = SmCertificate::from_pem(cert_pem)?;
        let key =
            KeyPair::from_pkcs8_pem(key_pem).map_err(|e| GmTlsError::Config { field: "key", reason: e.to_string() })?;
        Self::new(cert, &key)
    }

    pub fn certificate(&self) -> &SmCertificate {
        &self.cert
    }
}

/// The identity an endpoint presents, replaceable while it runs: handshakes after [`CurrentIdentity::replace`]
/// present the new certificate, connections already open keep the old one (rotation with overlap: both
/// stay valid until the operator revokes or lets the old one expire).
#[derive(Debug)]
pub struct CurrentIdentity {
    identity: RwLock<Identity>,
    /// What the endpoints built on it use it for; a replacement must serve all of them.
    purposes: RwLock<Vec<Purpose>>,
}

impl CurrentIdentity {
    pub fn new(identity: Identity) -> Arc<Self> {
        Arc::new(CurrentIdentity { identity: RwLock::new(identity), purposes: RwLock::new(Vec::new()) })
    }

    pub fn get(&self) -> Identity {
        self.identity.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn require(&self, purpose: Purpose) {
        let mut p = self.purposes.write().unwrap_or_else(|p| p.into_inner());
        if !p.contains(&purpose) {
            p.push(purpose);
        }
    }

    /// Present `next` from the next handshake on, if `trust` vouches for it for every purpose this
    /// identity serves; returns the identity it replaces. A refused replacement changes nothing.
    pub fn replace(&self, next: Identity, trust: &Trust) -> Result<Identity, GmTlsError> {
        let purposes = self.purposes.read().unwrap_or_else(|p| p.into_inner()).clone();
        for purpose in purposes {
            check_purpose(&next, trust, purpose)?;
        }
        let mut current = self.identity.write().unwrap_or_else(|p| p.into_inner());
        Ok(std::mem::replace(&mut *current, next))
    }
}

/// Whether a server demands a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Member links and the node client API: the peer must present a consortium certificate.
    Required,
    /// Anyone may connect; the server still authenticates itself.
    None,
}

/// The provider with only the RFC 8998 algorithms: nothing else can be negotiated.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![rustls::SupportedCipherSuite::Tls13(&crate::suite::TLS13_SM4_GCM_SM3)],
        kx_groups: vec![&crate::kx::CURVE_SM2],
        // Certificates are checked by scf-ca, never by WebPKI, so no WebPKI algorithms are offered.
        signature_verification_algorithms: rustls::crypto::WebPkiSupportedAlgorithms { all: &[], mapping: &[] },
        secure_random: &crate::rng::OsRandom,
        key_provider: &crate::sign::Sm2KeyProvider,
    }
}

/// A TLS server for `identity`, trusting the consortium CAs in `trust`.
pub fn server_config(
    identity: &Identity,
    trust: Trust,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, GmTlsError> {
    server_config_rotating(CurrentIdentity::new(identity.clone()), trust, client_auth)
}

/// [`server_config`] presenting whatever `identity` holds at each handshake.
pub fn server_config_rotating(
    identity: Arc<CurrentIdentity>,
    trust: Trust,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, GmTlsError> {
    check_purpose(&identity.get(), &trust, Purpose::ServerAuth)?;
    identity.require(Purpose::ServerAuth);
    let verifier = ClientVerifier::new(trust, client_auth == ClientAuth::Required);
    let builder =
        ServerConfig::builder_with_provider(Arc::new(provider())).with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = match client_auth {
        ClientAuth::Required => builder.with_client_cert_verifier(Arc::new(verifier)),
        ClientAuth::None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SingleCert(identity)));
    // A resumed session skips certificate verification, so a revoked peer could come back on an old ticket:
    // every connection makes a full handshake and consults the revocation check.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A TLS client; `identity` is presented when the server asks (member links always do). With
/// `check_server_name` false the server is identified by its certificate rather than the name dialled.
pub fn client_config(
    identity: Option<&Identity>,
    trust: Trust,
    check_server_name: bool,
) -> Result<Arc<ClientConfig>, GmTlsError> {
    client_config_rotating(identity.map(|i| CurrentIdentity::new(i.clone())), trust, check_server_name)
}

/// [`client_config`] presenting whatever `identity` holds at each handshake.
pub fn client_config_rotating(
    identity: Option<Arc<CurrentIdentity>>,
    trust: Trust,
    check_server_name: bool,
) -> Result<Arc<ClientConfig>, GmTlsError> {
    if let Some(id) = &identity {
        check_purpose(&id.get(), &trust, Purpose::ClientAuth)?;
        id.require(Purpose::ClientAuth);
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ServerVerifier::new(trust, check_server_name)));
    let mut config = match identity {
        Some(id) => builder.with_client_cert_resolver(Arc::new(SingleClientCert(id))),
        None => builder.with_no_client_auth(),
    };
    // See server_config: no resumption, so the server's revocation status is checked at every connection.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// Refuse at start-up a certificate the peers would refuse at every handshake.
fn check_purpose(identity: &Identity, trust: &Trust, purpose: Purpose) -> Result<(), GmTlsError> {
    trust
        .store()
        .verify_cert(identity.cert.clone(), purpose, std::time::SystemTime::now(), &scf_ca::NoRevocation)
        .map(|_| ())
        .map_err(GmTlsError::from)
}

#[derive(Debug)]
struct SingleCert(Arc<CurrentIdentity>);

impl rustls::server::ResolvesServerCert for SingleCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get().key)
    }
}

#[derive(Debug)]
struct SingleClientCert(Arc<CurrentIdentity>);

impl rustls::client::ResolvesClientCert for SingleClientCert {
    fn resolve(&self, _hints: &[&[u8]], sigschemes: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        sigschemes.contains(&crate::sign::sm2sig_sm3()).then(|| self.0.get().key)
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// PKCS#8 DER of an SM2 key, for callers that configure rustls themselves through [`provider`].
pub fn pkcs8_der(key: &KeyPair) -> Result<PrivateKeyDer<'static>, GmTlsError> {
    use sm2::pkcs8::EncodePrivateKey;
    let sk = sm2::SecretKey::from_slice(&key.secret_bytes())
        .map_err(|_| GmTlsError::Config { field: "key", reason: "not a valid SM2 scalar".into() })?;
    let doc = sk.to_pkcs8_der().map_err(|e| GmTlsError::Config { field: "key", reason: e.to_string() })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec())))
}
