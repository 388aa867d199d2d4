//! 国密 cryptography for the whole system, behind one small API.
//!
//! Wire encodings (fixed by the protocol, never negotiated):
//! - public key: SEC1 uncompressed point, 65 bytes `0x04 ‖ X ‖ Y`;
//! - signature: raw 64 bytes `r ‖ s`, both big-endian, each in `[1, n-1]` (DER only at X.509/OpenSSL edges);
//! - SM2 signing always uses the default distinguishing ID `1234567812345678` ([`DEFAULT_DIST_ID`]);
//! - address: the first 20 bytes of SM3 over the 65-byte public key;
//! - data at rest: SM4-GCM (RFC 8998) with a 12-byte nonce prepended to `ciphertext ‖ tag`.

use std::fmt;
use std::sync::LazyLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::Generate;
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sm3::Digest;

/// The distinguishing identifier every SM2 signature in the protocol uses (GM/T 0009 default).
pub const DEFAULT_DIST_ID: &str = "1234567812345678";

/// Keys whose verification tables the process keeps. A consortium's accounts and devices sign again
/// and again, and a cached key verifies about three times faster than a cold one; each table is
/// `KeyCache::BYTES_PER_KEY` (~53 KB), so a full cache holds ~55 MB. Keys beyond it take the cold path,
/// which is still about three times RustCrypto's speed.
pub const VERIFY_CACHE_KEYS: usize = 1024;

/// The one process-wide cache behind [`PublicKey::verify`]: mempool admission, block validation,
/// consensus votes and device readings all verify through it. A key is admitted after a few valid
/// signatures (`KeyCache::DEFAULT_WARM_AFTER`), so one-off or forged signers never cost a table.
static VERIFY_CACHE: LazyLock<scf_sm2_verify::KeyCache> =
    LazyLock::new(|| scf_sm2_verify::KeyCache::new(VERIFY_CACHE_KEYS));

/// The fast verifier's refusals, as the ledger has always reported them (RustCrypto's decisions): a
/// scalar outside [1, n − 1] fails RustCrypto's signature parsing, a key or id it cannot build a
/// verifying key from is an invalid key, and everything else is a signature that does not verify.
/// No wildcard: a new refusal must be placed here deliberately.
fn from_fast(e: scf_sm2_verify::Error) -> CryptoError {
    use scf_sm2_verify::Error as E;
    match e {
        E::ScalarOutOfRange { .. } | E::SignatureLength { .. } => CryptoError::MalformedSignature,
        E::ZeroSum | E::IdentityPoint | E::Mismatch => CryptoError::BadSignature,
        E::KeyLength { .. }
        | E::KeyPrefix { .. }
        | E::KeyCoordinateOutOfRange { .. }
        | E::KeyNotOnCurve
        | E::DistIdTooLong { .. } => CryptoError::InvalidPublicKey,
    }
}

/// Errors from key handling, signing and decryption. None of them carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("public key: not a valid 65-byte SEC1 uncompressed SM2 point")]
    InvalidPublicKey,
    #[error("secret key: not a valid SM2 scalar in [1, n-1]")]
    InvalidSecretKey,
    #[error("signature: not 64 bytes r‖s with r, s in [1, n-1]")]
    MalformedSignature,
    #[error("signature: does not verify for this public key and message")]
    BadSignature,
    #[error("PEM: {0}")]
    Pem(String),
    #[error("SM4-GCM: ciphertext too short or authentication failed")]
    Decrypt,
    #[error("SM4-GCM: key must be 16 bytes")]
    KeyLength,
    #[error("random number generator failed")]
    Rng,
}

/// SM3 digest of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    sm3::Sm3::digest(data).into()
}

/// SM3 digest over several parts, as if concatenated.
pub fn sm3_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sm3::Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A 32-byte SM3 hash (block hashes, tx ids, Merkle roots, state roots).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0u8; 32]);
    pub fn of(data: &[u8]) -> Self {
        Hash32(sm3(data))
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim_start_matches("0x"), &mut out)?;
        Ok(Hash32(out))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}
impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}
impl Serialize for Hash32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        Hash32::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An account address: the first 20 bytes of SM3(public key SEC1 uncompressed).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize)]
pub struct Address(pub [u8; 20]);

impl Address {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        let mut out = [0u8; 20];
        hex::decode_to_slice(s.trim_start_matches("0x"), &mut out)?;
        Ok(Address(out))
    }
}
impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}
impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        Address::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An SM2 public key in its wire form (65-byte SEC1 uncompressed). Construction validates the point,
/// so holding a `PublicKey` means the bytes are a point on the curve.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 65]);

impl PublicKey {
    pub const LEN: usize = 65;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != Self::LEN || bytes[0] != 0x04 {
            return Err(CryptoError::InvalidPublicKey);
        }
        sm2::PublicKey::from_sec1_bytes(bytes).map_err(|_| CryptoError::InvalidPublicKey)?;
        let mut out = [0u8; 65];
        out.copy_from_slice(bytes);
        Ok(PublicKey(out))
    }
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }
    pub fn address(&self) -> Address {
        let h = sm3(&self.0);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[..20]);
        Address(a)
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(s.trim_start_matches("0x")).map_err(|_| CryptoError::InvalidPublicKey)?;
        Self::from_bytes(&bytes)
    }
    fn verifying_key(&self, dist_id: &str) -> Result<sm2::dsa::VerifyingKey, CryptoError> {
        sm2::dsa::VerifyingKey::from_sec1_bytes(dist_id, &self.0).map_err(|_| CryptoError::InvalidPublicKey)
    }
    /// Verify `sig` over `msg` with the protocol's distinguishing ID.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        self.verify_with_id(DEFAULT_DIST_ID, msg, sig)
    }
    /// Verify with an explicit distinguishing ID (standard test vectors and TLS 1.3 use other IDs).
    ///
    /// Verification bounds the chain's throughput, so this is `scf-sm2-verify` (variable-time, which is
    /// safe: keys, signatures and messages are public) through the process-wide key cache. It accepts
    /// and refuses exactly what [`PublicKey::verify_reference`] does, with the same errors.
    pub fn verify_with_id(&self, dist_id: &str, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        VERIFY_CACHE.verify(&self.0, dist_id.as_bytes(), msg, &sig.0).map_err(from_fast)
    }
    /// Verify with RustCrypto `sm2` (constant-time, general): the reference the fast path is tested
    /// against, and the fixed yardstick benchmarks report their ratios to.
    pub fn verify_reference(&self, dist_id: &str, msg: &[u8], sig: &Signature) -> Result<(), CryptoError> {
        let vk = self.verifying_key(dist_id)?;
        let s = sm2::dsa::Signature::from_slice(&sig.0).map_err(|_| CryptoError::MalformedSignature)?;
        vk.verify(msg, &s).map_err(|_| CryptoError::BadSignature)
    }
    /// Whether this key's verification table is in the process-wide cache (it has signed validly often
    /// enough to be admitted). Tests use it to know which path they exercise.
    pub fn verify_table_cached(&self) -> bool {
        VERIFY_CACHE.contains(&self.0)
    }
    /// SubjectPublicKeyInfo PEM ("PUBLIC KEY").
    pub fn to_pem(&self) -> Result<String, CryptoError> {
        let pk = sm2::PublicKey::from_sec1_bytes(&self.0).map_err(|_| CryptoError::InvalidPublicKey)?;
        pk.to_public_key_pem(LineEnding::LF).map_err(|e| CryptoError::Pem(e.to_string()))
    }
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let pk = sm2::PublicKey::from_public_key_pem(pem).map_err(|e| CryptoError::Pem(e.to_string()))?;
        Self::from_sm2(&pk)
    }
    fn from_sm2(pk: &sm2::PublicKey) -> Result<Self, CryptoError> {
        use sm2::elliptic_curve::sec1::ToSec1Point;
        let p = pk.to_sec1_point(false);
        Self::from_bytes(p.as_bytes())
    }
    /// SM2 public-key encryption (GM/T 0003.4, C1C3C2) of `msg` to this key, used to wrap data keys.
    pub fn encrypt(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let pk = sm2::PublicKey::from_sec1_bytes(&self.0).map_err(|_| CryptoError::InvalidPublicKey)?;
        let ek = sm2::pke::EncryptingKey::new(pk);
        ek.encrypt(&mut getrandom::SysRng, msg).map_err(|_| CryptoError::Rng)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.address())
    }
}
impl BorshSerialize for PublicKey {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&self.0)
    }
}
impl BorshDeserialize for PublicKey {
    fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
        let mut b = [0u8; 65];
        r.read_exact(&mut b)?;
        PublicKey::from_bytes(&b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}
impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        PublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A signature in wire form: raw `r ‖ s`, 64 bytes. Range checks happen at verification.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    pub fn from_slice(b: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 64] = b.try_into().map_err(|_| CryptoError::MalformedSignature)?;
        Ok(Signature(arr))
    }
    /// DER form, for OpenSSL / X.509 boundaries only.
    pub fn to_der(&self) -> Result<Vec<u8>, CryptoError> {
        let s = sm2::dsa::Signature::from_slice(&self.0).map_err(|_| CryptoError::MalformedSignature)?;
        Ok(s.to_der().as_bytes().to_vec())
    }
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let s = sm2::dsa::Signature::from_der(der).map_err(|_| CryptoError::MalformedSignature)?;
        Self::from_slice(&s.to_bytes())
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0[..8]))
    }
}
impl BorshSerialize for Signature {
    fn serialize<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&self.0)
    }
}
impl BorshDeserialize for Signature {
    fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
        let mut b = [0u8; 64];
        r.read_exact(&mut b)?;
        Ok(Signature(b))
    }
}
impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        let b = hex::decode(s).map_err(serde::de::Error::custom)?;
        Signature::from_slice(&b).map_err(serde::de::Error::custom)
    }
}

/// An SM2 key pair. The secret never appears in `Debug` output.
#[derive(Clone)]
pub struct KeyPair {
    signing: sm2::dsa::SigningKey,
    public: PublicKey,
}

impl KeyPair {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let sk = sm2::SecretKey::try_generate().map_err(|_| CryptoError::Rng)?;
        Self::from_secret(&sk)
    }
    /// A key from 32 secret bytes (big-endian scalar). Used by tests and seeds with fixed keys.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let sk = sm2::SecretKey::from_slice(bytes).map_err(|_| CryptoError::InvalidSecretKey)?;
        Self::from_secret(&sk)
    }
    /// A deterministic key derived from a seed string (SM3 of the seed); for tests, demos and simulators only.
    pub fn from_seed(seed: &str) -> Self {
        let mut h = sm3(seed.as_bytes());
        loop {
            if let Ok(k) = Self::from_secret_bytes(&h) {
                return k;
            }
            h = sm3(&h);
        }
    }
    fn from_secret(sk: &sm2::SecretKey) -> Result<Self, CryptoError> {
        let signing = sm2::dsa::SigningKey::new(DEFAULT_DIST_ID, sk).map_err(|_| CryptoError::InvalidSecretKey)?;
        let public = PublicKey::from_sm2(&sk.public_key())?;
        Ok(KeyPair { signing, public })
    }
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
    pub fn address(&self) -> Address {
        self.public.address()
    }
    /// Sign `msg` (SM2 with SM3, default distinguishing ID, RFC 6979-style deterministic nonce).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        let s: sm2::dsa::Signature = self.signing.sign(msg);
        let mut out = [0u8; 64];
        out.copy_from_slice(&s.to_bytes());
        Signature(out)
    }
    /// The raw 32-byte secret scalar. Handle with care: callers must encrypt it at rest.
    pub fn secret_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.signing.to_bytes());
        out
    }
    /// PKCS#8 PEM ("PRIVATE KEY").
    pub fn to_pkcs8_pem(&self) -> Result<String, CryptoError> {
        let sk = sm2::SecretKey::from_slice(&self.secret_bytes()).map_err(|_| CryptoError::InvalidSecretKey)?;
        let pem = sk.to_pkcs8_pem(LineEnding::LF).map_err(|e| CryptoError::Pem(e.to_string()))?;
        Ok(pem.to_string())
    }
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CryptoError> {
        let sk = sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| CryptoError::Pem(e.to_string()))?;
        Self::from_secret(&sk)
    }
    /// Decrypt an SM2 public-key ciphertext (C1C3C2) addressed to this key.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let dk =
            sm2::pke::DecryptingKey::from_slice(&self.secret_bytes()).map_err(|_| CryptoError::InvalidSecretKey)?;
        dk.decrypt(ciphertext).map_err(|_| CryptoError::Decrypt)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.address())
    }
}

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// SM4-GCM (RFC 8998) with an explicit nonce: returns `ciphertext ‖ tag`.
pub fn sm4_gcm_seal(key: &[u8], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Sm4Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength)?;
    cipher.encrypt(&(*nonce).into(), Payload { msg: plaintext, aad }).map_err(|_| CryptoError::Decrypt)
}

/// SM4-GCM open of `ciphertext ‖ tag` with an explicit nonce.
pub fn sm4_gcm_open(key: &[u8], nonce: &[u8; 12], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = Sm4Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength)?;
    cipher.decrypt(&(*nonce).into(), Payload { msg: ciphertext, aad }).map_err(|_| CryptoError::Decrypt)
}

/// Encrypt data at rest: a random 12-byte nonce is generated and prepended (`nonce ‖ ciphertext ‖ tag`).
pub fn encrypt_at_rest(key: &[u8; 16], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_bytes::<12>()?;
    let mut out = nonce.to_vec();
    out.extend(sm4_gcm_seal(key, &nonce, aad, plaintext)?);
    Ok(out)
}

/// Decrypt what [`encrypt_at_rest`] produced.
pub fn decrypt_at_rest(key: &[u8; 16], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < 12 + 16 {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, ct) = sealed.split_at(12);
    let mut n = [0u8; 12];
    n.copy_from_slice(nonce);
    sm4_gcm_open(key, &n, aad, ct)
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    <[u8; N] as Generate>::try_generate().map_err(|_| CryptoError::Rng)
}
