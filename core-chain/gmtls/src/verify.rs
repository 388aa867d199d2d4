//! Certificate verifiers that ask the organisation CAs (`scf-ca`) instead of WebPKI: a peer is accepted only
//! with an SM2 certificate from a consortium CA, valid now, issued for its side of the handshake, and not
//! revoked according to the revocation check consulted at this very handshake.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError, SignatureScheme};
use scf_ca::{CaError, Purpose, RevocationCheck, SmCertificate, TrustStore, VerifiedCert};

use crate::sign::{sm2sig_sm3, verify_tls13};

/// The consortium's CAs and the revocation check, shared by every verifier built from them. The CAs can
/// be replaced while running ([`Trust::replace_store`]): later handshakes use the new set.
#[derive(Clone)]
pub struct Trust {
    store: Arc<RwLock<Arc<TrustStore>>>,
    pub revocation: Arc<dyn RevocationCheck>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust").field("anchors", &self.store().anchors().len()).finish()
    }
}

impl Trust {
    pub fn new(store: TrustStore, revocation: Arc<dyn RevocationCheck>) -> Self {
        Trust { store: Arc::new(RwLock::new(Arc::new(store))), revocation }
    }

    /// The CAs trusted now.
    pub fn store(&self) -> Arc<TrustStore> {
        self.store.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Trust `store` from the next handshake on (every clone of this `Trust` sees it).
    pub fn replace_store(&self, store: TrustStore) {
        *self.store.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(store);
    }

    /// Why a certificate accepted earlier (named by its issuer's subject and its serial) is no longer
    /// accepted: its CA is no longer trusted, or it is revoked. For open connections, which were
    /// checked at their handshake only.
    pub fn refusal(&self, issuer: &str, serial: u64) -> Option<String> {
        if !self.store().anchors().iter().any(|a| a.certificate().subject() == issuer) {
            return Some(format!("{issuer} is no longer a trusted CA"));
        }
        self.revocation.revoked(issuer, serial).map(|r| r.to_string())
    }

    pub(crate) fn verify(&self, der: &[u8], purpose: Purpose, now: UnixTime) -> Result<VerifiedCert, Error> {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs());
        self.store().verify(der, purpose, at, self.revocation.as_ref()).map_err(to_rustls)
    }
}

/// Keep the CA's reason (field and cause) for logs while giving rustls the alert it should send.
fn to_rustls(e: CaError) -> Error {
    let kind = match &e {
        CaError::Revoked { .. } => CertificateError::Revoked,
        CaError::Expired { .. } => CertificateError::Expired,
        CaError::NotYetValid { .. } => CertificateError::NotValidYet,
        CaError::UnknownIssuer { .. } => CertificateError::UnknownIssuer,
        CaError::BadSignature { .. } => CertificateError::BadSignature,
        CaError::Extension { extension: "extendedKeyUsage", .. } => CertificateError::InvalidPurpose,
        _ => CertificateError::Other(OtherError(Arc::new(e))),
    };
    Error::InvalidCertificate(kind)
}

fn tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    if dss.scheme != sm2sig_sm3() {
        return Err(Error::PeerIncompatible(rustls::PeerIncompatible::NoSignatureSchemesInCommon));
    }
    let cert = SmCertificate::from_der(cert.as_ref()).map_err(to_rustls)?;
    verify_tls13(cert.public_key(), message, dss.signature())?;
    Ok(HandshakeSignatureValid::assertion())
}

/// Client side: checks the server's certificate and that it names the host dialled.
#[derive(Debug)]
pub struct ServerVerifier {
    trust: Trust,
    check_name: bool,
}

impl ServerVerifier {
    /// `check_name: false` is for links where the peer is identified by its certificate key rather than by
    /// a host name (node-to-node P2P); the CA, validity, purpose and revocation checks still apply.
    pub fn new(trust: Trust, check_name: bool) -> Self {
        ServerVerifier { trust, check_name }
    }
}

fn name_matches(cert: &SmCertificate, name: &ServerName<'_>) -> Result<bool, CaError> {
    let sans = cert.subject_alt_names()?;
    Ok(match name {
        ServerName::DnsName(dns) => {
            let want = dns.as_ref().to_ascii_lowercase();
            sans.iter().any(|s| {
                let s = s.to_ascii_lowercase();
                match s.strip_prefix("*.") {
                    Some(suffix) => {
                        want.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix)
                    }
                    None => s == want,
                }
            })
        }
        ServerName::IpAddress(ip) => {
            let want = IpAddr::from(*ip);
            sans.iter().any(|s| s.parse::<IpAddr>().is_ok_and(|a| a == want))
        }
        _ => false,
    })
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verified = self.trust.verify(end_entity.as_ref(), Purpose::ServerAuth, now)?;
        if self.check_name && !name_matches(&verified.certificate, server_name).map_err(to_rustls)? {
            return Err(Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![sm2sig_sm3()]
    }
}

/// Server side: demands a client certificate from a consortium CA, issued for client authentication.
#[derive(Debug)]
pub struct ClientVerifier {
    trust: Trust,
    hints: Vec<DistinguishedName>,
    mandatory: bool,
}

impl ClientVerifier {
    pub fn new(trust: Trust, mandatory: bool) -> Self {
        // The CAs trusted when the endpoint started; a client whose CA was added later is still accepted
        // (the hints only help a client choose among several certificates).
        let hints = trust
            .store()
            .anchors()
            .iter()
            .filter_map(|a| a.certificate().subject_der().ok().map(DistinguishedName::from))
            .collect();
        ClientVerifier { trust, hints, mandatory }
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.trust.verify(end_entity.as_ref(), Purpose::ClientAuth, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(rustls::PeerIncompatible::Tls12NotOffered))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![sm2sig_sm3()]
    }
}
