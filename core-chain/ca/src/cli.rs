//! `scf ca ...`: the command definitions and their handlers, so the `scf` binary only forwards to [`run`].

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};
use scf_ledger::crypto::PublicKey;

use crate::cert::SmCertificate;
use crate::crl::{NoRevocation, RevocationCheck, RevokedSerials, VerifiedCrl};
use crate::error::CaError;
use crate::profile::{CertKind, Purpose, RevocationReason};
use crate::store::CaDir;
use crate::verify::TrustStore;

/// Manage an organisation certificate authority (SM2-with-SM3 X.509).
#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(subcommand)]
    pub command: CaCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create the organisation's CA: key, self-signed certificate, empty CRL.
    Init {
        /// Organisation name; becomes the O attribute of every certificate this CA issues.
        #[arg(long)]
        org: String,
        /// Directory to create the CA in (must not already hold a CA key).
        #[arg(long)]
        out: PathBuf,
        /// CA subject in RFC 4514 form; default `CN=<org> CA,O=<org>`.
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Issue a certificate for a public key.
    Issue {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Subject in RFC 4514 form, e.g. `CN=node-1`; O is added if absent and must match the CA's.
        #[arg(long)]
        subject: String,
        /// SM2 public key: SubjectPublicKeyInfo PEM, or 65-byte uncompressed point in hex.
        #[arg(long)]
        pubkey: PathBuf,
        /// Where to write the certificate PEM.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Subject alternative name (DNS name, IP, URI or e-mail); repeatable. Required for `tls`.
        #[arg(long = "san")]
        sans: Vec<String>,
    },
    /// Revoke a certificate by serial and publish a new CRL.
    Revoke {
        #[arg(long)]
        ca: PathBuf,
        #[arg(long)]
        serial: u64,
        /// RFC 5280 reason: unspecified, keyCompromise, caCompromise, affiliationChanged, superseded,
        /// cessationOfOperation, certificateHold, privilegeWithdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Publish a fresh CRL (run before the current one's nextUpdate).
    Crl {
        #[arg(long)]
        ca: PathBuf,
    },
    /// Verify a certificate against trusted CA certificates and, optionally, CRLs.
    Verify {
        /// PEM bundle of trusted organisation CA certificates.
        #[arg(long)]
        trust: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long, value_enum, default_value = "signing")]
        purpose: PurposeArg,
        /// CRL PEM files; repeatable.
        #[arg(long = "crl")]
        crls: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Node,
    Tls,
    Client,
    User,
    Device,
}

impl From<KindArg> for CertKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Node => CertKind::Node,
            KindArg::Tls => CertKind::Tls,
            KindArg::Client => CertKind::Client,
            KindArg::User => CertKind::User,
            KindArg::Device => CertKind::Device,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    Server,
    Client,
    Signing,
}

impl From<PurposeArg> for Purpose {
    fn from(p: PurposeArg) -> Self {
        match p {
            PurposeArg::Server => Purpose::ServerAuth,
            PurposeArg::Client => Purpose::ClientAuth,
            PurposeArg::Signing => Purpose::Signing,
        }
    }
}

fn read(path: &Path) -> Result<String, CaError> {
    std::fs::read_to_string(path).map_err(|e| CaError::io(path, e))
}

/// Read an SM2 public key from a PEM or hex file.
pub fn read_public_key(path: &Path) -> Result<PublicKey, CaError> {
    let text = read(path)?;
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        PublicKey::from_pem(text).map_err(|e| CaError::io(path, e))
    } else {
        PublicKey::from_hex(text).map_err(|e| CaError::io(path, e))
    }
}

/// Run one `scf ca` command at time `now`; returns what to print.
pub fn run(args: CaArgs, now: SystemTime) -> Result<String, CaError> {
    match args.command {
        CaCommand::Init { org, out, subject, days } => {
            let ca = CaDir::init(&out, &org, subject.as_deref(), days, now)?;
            Ok(format!(
                "CA {} created in {}\ncertificate: {}\nCRL: {}",
                ca.authority().certificate().subject(),
                out.display(),
                out.join(CaDir::CERT).display(),
                out.join(CaDir::CRL).display()
            ))
        }
        CaCommand::Issue { ca, kind, subject, pubkey, out, days, sans } => {
            let public_key = read_public_key(&pubkey)?;
            let mut dir = CaDir::open(&ca)?;
            let cert = dir.issue(kind.into(), &subject, public_key, days, sans, now)?;
            let pem = cert.to_pem()?;
            std::fs::write(&out, pem).map_err(|e| CaError::io(&out, e))?;
            Ok(format!(
                "issued {} certificate serial {} for {} -> {}",
                CertKind::from(kind),
                cert.serial(),
                cert.subject(),
                out.display()
            ))
        }
        CaCommand::Revoke { ca, serial, reason } => {
            let reason: RevocationReason = reason.parse()?;
            let mut dir = CaDir::open(&ca)?;
            dir.revoke(serial, reason, now)?;
            Ok(format!("revoked serial {serial} ({reason}); CRL written to {}", ca.join(CaDir::CRL).display()))
        }
        CaCommand::Crl { ca } => {
            let mut dir = CaDir::open(&ca)?;
            dir.publish_crl(now)?;
            Ok(format!("CRL written to {}", ca.join(CaDir::CRL).display()))
        }
        CaCommand::Verify { trust, cert, purpose, crls } => {
            let store = TrustStore::from_pem(&read(&trust)?)?;
            let cert = SmCertificate::from_pem(&read(&cert)?)?;
            let mut revoked = RevokedSerials::new();
            for crl in &crls {
                revoked.apply_crl(&VerifiedCrl::from_pem(&read(crl)?, &store, now)?);
            }
            let check: &dyn RevocationCheck = if crls.is_empty() { &NoRevocation } else { &revoked };
            let v = store.verify_cert(cert, purpose.into(), now, check)?;
            Ok(format!(
                "OK: {} (serial {}) issued by {} for {}",
                v.certificate.subject(),
                v.certificate.serial(),
                v.issuer,
                v.organization
            ))
        }
    }
}
