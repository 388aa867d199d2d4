//! 国密 TLS 1.3 for member-to-member links (RFC 8998).
//!
//! rustls runs the TLS 1.3 state machine; this crate supplies a rustls `CryptoProvider` with exactly one
//! suite (TLS_SM4_GCM_SM3, 0x00C6), one group (curveSM2, 0x0029) and one signature scheme (sm2sig_sm3,
//! 0x0708), and certificate verifiers that trust only the consortium's organisation CAs (`scf-ca`) and ask a
//! revocation check at every handshake — so a revoked certificate is refused without restarting anything.
//!
//! Use [`server_config`] / [`client_config`] with `tokio_rustls::{TlsAcceptor, TlsConnector}` (re-exported).
//! It interoperates with Tongsuo's TLS 1.3 (tests/tongsuo_interop.rs, both directions, mutual TLS).
#![forbid(unsafe_code)]

mod config;
pub mod crl_files;
mod error;
mod kx;
pub mod live;
mod rng;
pub mod rotation;
mod sign;
mod suite;
mod verify;

pub use config::{
    client_config, client_config_rotating, pkcs8_der, provider, server_config, server_config_rotating, ClientAuth,
    CurrentIdentity, Identity,
};
pub use error::GmTlsError;
pub use kx::{CurveSm2, CURVE_SM2, CURVE_SM2_ID};
pub use sign::{sm2sig_sm3, Sm2KeyProvider, Sm2SigningKey, SM2SIG_SM3_ID, TLS13_SM2_ID};
pub use suite::{TLS13_SM4_GCM_SM3, TLS_SM4_GCM_SM3_ID};
pub use verify::{ClientVerifier, ServerVerifier, Trust};
pub use {rustls, tokio_rustls};

/// The organisation and certificate of the peer on an established connection, if it presented one that
/// the consortium CAs vouch for.
pub fn peer_identity(trust: &Trust, conn: &rustls::CommonState) -> Option<scf_ca::VerifiedCert> {
    let der = conn.peer_certificates()?.first()?;
    let cert = scf_ca::SmCertificate::from_der(der.as_ref()).ok()?;
    let store = trust.store();
    let anchor = store.issuer_of(&cert).ok()?;
    Some(scf_ca::VerifiedCert {
        organization: anchor.organization(),
        issuer: anchor.certificate().subject(),
        certificate: cert,
    })
}
