//! Fast SM2 signature verification (GB/T 32918.2 / GM/T 0003.2) for the chain's hot path.
//!
//! Verifying transaction signatures bounds the chain's throughput, and a general-purpose implementation
//! (RustCrypto `sm2`, constant-time, generic over curves) leaves a large factor on the table. This crate
//! does one thing — verify — specialised to the SM2 curve:
//!
//! - field arithmetic on four 64-bit limbs, Montgomery reduction and small multiples exploiting p's shape;
//! - Jacobian coordinates with mixed additions of precomputed affine points;
//! - s·G + t·P by interleaved wNAF over one chain of doublings (cold keys), or, for keys held in a
//!   [`KeyCache`], by two fixed-window tables that need no doubling at all (warm keys);
//! - the final comparison (e + x₁) mod n = r decided on Jacobian coordinates without an inversion;
//! - [`verify_batch`], whose keys' tables share one inversion.
//!
//! **Variable time.** Every input here is public — keys, signatures and messages — so the code branches
//! and indexes tables on data. It must never be used with secrets; signing stays with RustCrypto `sm2`.
//!
//! Inputs are the ledger's wire formats: a 65-byte SEC1 uncompressed key (`0x04 ‖ x ‖ y`), a 64-byte
//! signature `r ‖ s` (big-endian, each in [1, n − 1]), a distinguishing id ([`DEFAULT_DIST_ID`] in the
//! protocol) and the message. Each refusal is a typed [`Error`] naming the field and the reason. The
//! accept/refuse decision equals RustCrypto `sm2`'s on every input (tests and a fuzz target check it),
//! except compressed keys, which the wire format excludes and this crate refuses, as the ledger does.

#![forbid(unsafe_code)]

mod batch;
mod cache;
mod field;
mod key;
mod point;
mod scalar;
mod table;
mod verify;

pub use batch::{verify_batch, BatchItem};
pub use cache::KeyCache;
pub use key::VerifyingKey;

/// The distinguishing id that GM/T 0009 sets as default and the protocol uses for every signature.
pub const DEFAULT_DIST_ID: &[u8] = b"1234567812345678";

/// Why a key, id or signature was refused. Verification never panics on any input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("public key: {len} bytes, expected 65 (SEC1 uncompressed 0x04 ‖ x ‖ y)")]
    KeyLength { len: usize },
    #[error("public key: prefix byte {prefix:#04x}, expected 0x04 (only uncompressed points are accepted)")]
    KeyPrefix { prefix: u8 },
    #[error("public key: the {coordinate} coordinate is not below the field prime p")]
    KeyCoordinateOutOfRange { coordinate: &'static str },
    #[error("public key: (x, y) is not a point of the SM2 curve")]
    KeyNotOnCurve,
    #[error("distinguishing id: {len} bytes; its length in bits must fit in 16 bits (at most 8191 bytes)")]
    DistIdTooLong { len: usize },
    #[error("signature: {len} bytes, expected 64 (r ‖ s)")]
    SignatureLength { len: usize },
    #[error("signature: {scalar} is not in [1, n − 1]")]
    ScalarOutOfRange { scalar: &'static str },
    #[error("signature: (r + s) mod n is zero")]
    ZeroSum,
    #[error("signature: s·G + t·P is the point at infinity")]
    IdentityPoint,
    #[error("signature: does not verify for this public key, distinguishing id and message")]
    Mismatch,
}

impl VerifyingKey {
    /// Verifies `sig` = r ‖ s over `msg` signed with `dist_id`. The key's table is built for this call
    /// only; hold keys in a [`KeyCache`] when the same keys sign again and again.
    pub fn verify(&self, dist_id: &[u8], msg: &[u8], sig: &[u8; 64]) -> Result<(), Error> {
        let e = VerifyingKey::digest(&self.z_a(dist_id)?, msg);
        let sc = verify::scalars(sig, &e)?;
        verify::check_x(&verify::mul_cold(&sc.s, &sc.t, &self.point), &sc.expected_x)
    }
}

/// One-shot verification on the wire formats: `key` is the 65-byte SEC1 uncompressed point, `sig` the
/// 64 bytes r ‖ s. The same as [`VerifyingKey::from_sec1_bytes`] followed by [`VerifyingKey::verify`].
pub fn verify(key: &[u8], dist_id: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), Error> {
    let sig: &[u8; 64] = sig.try_into().map_err(|_| Error::SignatureLength { len: sig.len() })?;
    VerifyingKey::from_sec1_bytes(key)?.verify(dist_id, msg, sig)
}
