//! Reference implementations and fixtures shared by the integration tests.
#![allow(dead_code)]

use num_bigint::BigUint;
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToSec1Point;

pub const N_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
pub const P_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).expect("hex")
}

pub fn n() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("n")
}

pub fn be32(b: &BigUint) -> [u8; 32] {
    let bytes = b.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

pub fn sig_of(r: &BigUint, s: &BigUint) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&be32(r));
    out[32..].copy_from_slice(&be32(s));
    out
}

/// A signer backed by RustCrypto `sm2` (the ledger's implementation).
pub struct RefSigner {
    pub secret: [u8; 32],
    pub public: [u8; 65],
    signing: sm2::dsa::SigningKey,
}

impl RefSigner {
    /// `None` when the bytes are not a scalar in [1, n − 1].
    pub fn from_secret(secret: &[u8; 32], dist_id: &str) -> Option<RefSigner> {
        let sk = sm2::SecretKey::from_slice(secret).ok()?;
        let signing = sm2::dsa::SigningKey::new(dist_id, &sk).ok()?;
        let public: [u8; 65] = sk.public_key().to_sec1_point(false).as_bytes().try_into().ok()?;
        Some(RefSigner { secret: *secret, public, signing })
    }

    /// Deterministic key from a label (SM3 of it, re-hashed until it is a valid scalar).
    pub fn from_label(label: &str) -> RefSigner {
        use sm3::Digest;
        let mut h: [u8; 32] = sm3::Sm3::digest(label.as_bytes()).into();
        loop {
            if let Some(s) = RefSigner::from_secret(&h, "1234567812345678") {
                return s;
            }
            h = sm3::Sm3::digest(h).into();
        }
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let s: sm2::dsa::Signature = self.signing.sign(msg);
        s.to_bytes().into()
    }
}

/// RustCrypto's accept/refuse decision on the wire formats, as the ledger calls it.
pub fn rustcrypto_accepts(key: &[u8], dist_id: &str, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(vk) = sm2::dsa::VerifyingKey::from_sec1_bytes(dist_id, key) else { return false };
    let Ok(s) = sm2::dsa::Signature::from_slice(sig) else { return false };
    vk.verify(msg, &s).is_ok()
}

/// sm-crypto's decision (default distinguishing id only); it takes the key as hex x ‖ y.
pub fn sm_crypto_accepts(key: &[u8; 65], msg: &[u8], sig: &[u8; 64]) -> bool {
    let r = BigUint::from_bytes_be(&sig[..32]);
    let s = BigUint::from_bytes_be(&sig[32..]);
    sm_crypto::sm2::Verify::new(&hex::encode(&key[1..])).verify(msg, (r, s), true)
}

/// Small deterministic generator for the long randomized test (splitmix64).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out.iter_mut() {
            *b = self.next_u64() as u8;
        }
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
