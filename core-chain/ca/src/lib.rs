//! Organisation certificate authority for the consortium.
//!
//! Each member organisation runs one CA whose SM2 certificate the others trust. It issues X.509 v3
//! certificates signed SM2-with-SM3 (OID 1.2.156.10197.1.501) for nodes, TLS servers, clients, people and
//! devices, revokes them with X.509 v2 CRLs, and verifies them — in Rust for the node's TLS and P2P, and in
//! a form OpenSSL 3 verifies without extra options. Certificate signatures use the SM2 distinguishing ID
//! 1234567812345678 (GM/T 0015), the same one the chain uses for transactions.
//!
//! Layers: [`profile`] fixes what each kind may do; [`authority`] signs (pure, no IO); [`store`] keeps a CA
//! in a directory; [`verify`] and [`crl`] decide trust; [`cli`] is the `scf ca` command.
#![forbid(unsafe_code)]

pub mod authority;
pub mod cert;
pub mod cli;
pub mod crl;
mod encode;
pub mod error;
pub mod profile;
pub mod store;
pub mod verify;

pub use authority::{Authority, IssueRequest, Validity};
pub use cert::SmCertificate;
pub use crl::{AnyRevocation, NoRevocation, RevocationCheck, RevokedSerials, SharedRevocations, VerifiedCrl};
pub use error::CaError;
pub use profile::{CertKind, Purpose, RevocationReason};
pub use store::CaDir;
pub use verify::{TrustAnchor, TrustStore, VerifiedCert};
