//! What each kind of certificate may be used for. The profile is fixed per kind rather than chosen by the
//! caller, so a device certificate can never be issued with `serverAuth` by a typo on the command line, and
//! the verifier can check a peer's certificate against the purpose it is presented for.

use std::fmt;
use std::str::FromStr;

use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use const_oid::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

use crate::error::CaError;

/// SM2 digital signature with SM3 (GM/T 0006, GB/T 35276): the only signature algorithm this CA writes or accepts.
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// The SM2 curve, carried as the named-curve parameter of `id-ecPublicKey` (GM/T 0006).
pub const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// `id-ecPublicKey` (RFC 5480): SM2 keys are EC keys whose curve parameter is [`SM2_CURVE`].
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The kinds of certificate an organisation CA issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// A member node: consensus and P2P identity, and both ends of node-to-node TLS.
    Node,
    /// A TLS server (the node client API, a member API endpoint); needs at least one subject alternative name.
    Tls,
    /// A service or tool that connects to a member API as a TLS client.
    Client,
    /// A person: signs business documents and logs in with a client certificate.
    User,
    /// An IoT device: signs readings and authenticates to the MQTT broker.
    Device,
}

/// What a certificate is being presented for; checked against its key usage and extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The server end of a TLS handshake.
    ServerAuth,
    /// The client end of a TLS handshake.
    ClientAuth,
    /// A signature outside TLS (consensus votes, device readings, documents).
    Signing,
}

impl CertKind {
    pub const ALL: [CertKind; 5] = [CertKind::Node, CertKind::Tls, CertKind::Client, CertKind::User, CertKind::Device];

    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Node => "node",
            CertKind::Tls => "tls",
            CertKind::Client => "client",
            CertKind::User => "user",
            CertKind::Device => "device",
        }
    }

    /// Key usage bits. Only `digitalSignature` is needed for TLS 1.3 (ECDHE) and TLCP signing certificates;
    /// people also get `nonRepudiation` because what they sign is a business commitment.
    pub(crate) fn key_usage(self) -> der::flagset::FlagSet<KeyUsages> {
        match self {
            CertKind::User => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            _ => KeyUsages::DigitalSignature.into(),
        }
    }

    pub(crate) fn extended_key_usage(self) -> Vec<ObjectIdentifier> {
        match self {
            CertKind::Node => vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH],
            CertKind::Tls => vec![ID_KP_SERVER_AUTH],
            CertKind::Client | CertKind::User | CertKind::Device => vec![ID_KP_CLIENT_AUTH],
        }
    }

    /// A TLS server is found by name, so its certificate is useless without one.
    pub(crate) fn requires_san(self) -> bool {
        matches!(self, CertKind::Tls)
    }
}

impl fmt::Display for CertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertKind {
    type Err = CaError;
    fn from_str(s: &str) -> Result<Self, CaError> {
        CertKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CaError::input("kind", format!("{s:?} is not one of node, tls, client, user, device")))
    }
}

/// RFC 5280 CRLReason values an operator may give when revoking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
}

impl RevocationReason {
    const NAMES: [(&'static str, RevocationReason); 8] = [
        ("unspecified", RevocationReason::Unspecified),
        ("keyCompromise", RevocationReason::KeyCompromise),
        ("caCompromise", RevocationReason::CaCompromise),
        ("affiliationChanged", RevocationReason::AffiliationChanged),
        ("superseded", RevocationReason::Superseded),
        ("cessationOfOperation", RevocationReason::CessationOfOperation),
        ("certificateHold", RevocationReason::CertificateHold),
        ("privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(_, r)| *r == self).map(|(n, _)| *n).unwrap_or("unspecified")
    }

    pub(crate) fn to_x509(self) -> x509_cert::ext::pkix::CrlReason {
        use x509_cert::ext::pkix::CrlReason as R;
        match self {
            RevocationReason::Unspecified => R::Unspecified,
            RevocationReason::KeyCompromise => R::KeyCompromise,
            RevocationReason::CaCompromise => R::CaCompromise,
            RevocationReason::AffiliationChanged => R::AffiliationChanged,
            RevocationReason::Superseded => R::Superseded,
            RevocationReason::CessationOfOperation => R::CessationOfOperation,
            RevocationReason::CertificateHold => R::CertificateHold,
            RevocationReason::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
        }
    }

    pub(crate) fn from_x509(r: x509_cert::ext::pkix::CrlReason) -> Self {
        use x509_cert::ext::pkix::CrlReason as R;
        match r {
            R::KeyCompromise => RevocationReason::KeyCompromise,
            R::CaCompromise | R::AaCompromise => RevocationReason::CaCompromise,
            R::AffiliationChanged => RevocationReason::AffiliationChanged,
            R::Superseded => RevocationReason::Superseded,
            R::CessationOfOperation => RevocationReason::CessationOfOperation,
            R::CertificateHold => RevocationReason::CertificateHold,
            R::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
            R::Unspecified | R::RemoveFromCRL => RevocationReason::Unspecified,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = CaError;
    fn from_str(s: &str) -> Result<Self, CaError> {
        Self::NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)).map(|(_, r)| *r).ok_or_else(|| {
            let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
            CaError::input("reason", format!("{s:?} is not one of {}", names.join(", ")))
        })
    }
}
