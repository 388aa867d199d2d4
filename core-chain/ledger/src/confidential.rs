//! Confidential fields on a replicated ledger: the client-side half (everything that needs randomness
//! or a private key) and the wire types the chain stores.
//!
//! Every node stores every byte of state, so "a competitor's node never sees my prices" can only mean
//! that plaintext never enters a transaction or the state. A confidential value is therefore sealed by
//! the client before it is submitted:
//! - an *envelope* `borsh { salt: [u8; 32], payload }` is encrypted with SM4-GCM (RFC 8998) under a
//!   fresh 16-byte data key, the object's identity bound as AAD (`nonce(12) ‖ ciphertext ‖ tag(16)`);
//! - the data key is wrapped for each entitled organisation with SM2 public-key encryption
//!   (GM/T 0003.4, `C1 ‖ C3 ‖ C2`, 113 bytes for a 16-byte key);
//! - the chain also stores a *commitment* `SM3("SCF-COMMIT-v1" ‖ salt ‖ payload)`, so whoever holds the
//!   plaintext can later prove to anyone (a court, an auditor) what was sealed, and a *key check*
//!   `SM3("SCF-DATAKEY-v1" ‖ data key)` so a recipient can tell a wrapped key that does not open the
//!   data from a corrupted ciphertext.
//!
//! Adding a recipient (e.g. the funder an invoice comes to back) re-wraps the data key for it
//! ([`rewrap`]); the ciphertext is never re-encrypted. The salt travels inside the ciphertext, so the
//! commitment reveals nothing about a low-entropy payload (a price) to those without the key.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{self, CryptoError, Hash32, KeyPair, PublicKey};

/// Length of a data key (SM4).
pub const DATA_KEY_LEN: usize = 16;
/// Length of a data key wrapped with SM2 PKE: C1 (65) ‖ C3 (32) ‖ C2 (16).
pub const WRAPPED_KEY_LEN: usize = 65 + 32 + DATA_KEY_LEN;
/// Length of the salt inside the envelope.
pub const SALT_LEN: usize = 32;

const COMMIT_TAG: &[u8] = b"SCF-COMMIT-v1";
const KEY_CHECK_TAG: &[u8] = b"SCF-DATAKEY-v1";

/// A data key wrapped for one organisation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The organisation id the key is wrapped for.
    pub org: String,
    /// SM2 ciphertext (`C1 ‖ C3 ‖ C2`) of the 16-byte data key under that organisation's public key.
    #[serde(with = "hex_bytes")]
    pub wrapped: Vec<u8>,
}

/// A sealed confidential value as submitted in a transaction and stored in state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Sealed {
    /// `nonce(12) ‖ SM4-GCM ciphertext ‖ tag(16)` of the envelope.
    #[serde(with = "hex_bytes")]
    pub ciphertext: Vec<u8>,
    /// `SM3("SCF-COMMIT-v1" ‖ salt ‖ payload)`.
    pub commitment: Hash32,
    /// `SM3("SCF-DATAKEY-v1" ‖ data key)`.
    pub key_check: Hash32,
    /// One wrapped data key per entitled organisation.
    pub wrapped_keys: Vec<WrappedKey>,
}

impl Sealed {
    pub fn wrapped_for(&self, org: &str) -> Option<&WrappedKey> {
        self.wrapped_keys.iter().find(|w| w.org == org)
    }
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.wrapped_keys.iter().map(|w| w.org.as_str())
    }
}

/// What an entitled party gets back from [`open`]: the payload and the salt that proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub payload: Vec<u8>,
    pub salt: [u8; SALT_LEN],
}

#[derive(BorshSerialize, BorshDeserialize)]
struct Envelope {
    salt: [u8; SALT_LEN],
    payload: Vec<u8>,
}

/// Why a sealed value could not be opened or re-wrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfidentialError {
    #[error("wrapped_keys: no data key is wrapped for organisation {org}")]
    NotARecipient { org: String },
    #[error("wrapped_keys[{org}]: the key does not unwrap with this private key")]
    UnwrapFailed { org: String },
    #[error("wrapped_keys[{org}]: the unwrapped data key does not match key_check")]
    KeyCheckMismatch { org: String },
    #[error("ciphertext: SM4-GCM authentication failed (wrong object or tampered data)")]
    Decrypt,
    #[error("ciphertext: the envelope is malformed")]
    Envelope,
    #[error("commitment: the opened payload does not match the commitment")]
    CommitmentMismatch,
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}

/// The commitment the chain stores for `payload` sealed with `salt`.
pub fn commitment(salt: &[u8; SALT_LEN], payload: &[u8]) -> Hash32 {
    Hash32(crypto::sm3_parts(&[COMMIT_TAG, salt, payload]))
}

/// True when `payload` with `salt` is exactly what was sealed under `commitment`: how a party proves a
/// disclosed value to someone who can read the chain but holds no key.
pub fn prove_disclosure(commitment_on_chain: &Hash32, salt: &[u8; SALT_LEN], payload: &[u8]) -> bool {
    commitment(salt, payload) == *commitment_on_chain
}

fn key_check(data_key: &[u8; DATA_KEY_LEN]) -> Hash32 {
    Hash32(crypto::sm3_parts(&[KEY_CHECK_TAG, data_key]))
}

/// Seal `payload` for `recipients` (organisation id, its public key). `aad` binds the ciphertext to the
/// object it belongs to (e.g. `invoice/lines/<number>`), so a sealed value cannot be replayed onto
/// another object.
pub fn seal(aad: &[u8], payload: &[u8], recipients: &[(&str, PublicKey)]) -> Result<(Sealed, Opened), CryptoError> {
    let data_key = crypto::random_bytes::<DATA_KEY_LEN>()?;
    let salt = crypto::random_bytes::<SALT_LEN>()?;
    let envelope = borsh::to_vec(&Envelope { salt, payload: payload.to_vec() }).map_err(|_| CryptoError::Decrypt)?;
    let ciphertext = crypto::encrypt_at_rest(&data_key, aad, &envelope)?;
    let mut wrapped_keys = Vec::with_capacity(recipients.len());
    for (org, pk) in recipients {
        wrapped_keys.push(WrappedKey { org: (*org).to_string(), wrapped: pk.encrypt(&data_key)? });
    }
    let sealed =
        Sealed { ciphertext, commitment: commitment(&salt, payload), key_check: key_check(&data_key), wrapped_keys };
    Ok((sealed, Opened { payload: payload.to_vec(), salt }))
}

fn unwrap_key(sealed: &Sealed, org: &str, key: &KeyPair) -> Result<[u8; DATA_KEY_LEN], ConfidentialError> {
    let w = sealed.wrapped_for(org).ok_or_else(|| ConfidentialError::NotARecipient { org: org.to_string() })?;
    let raw = key.decrypt(&w.wrapped).map_err(|_| ConfidentialError::UnwrapFailed { org: org.to_string() })?;
    let data_key: [u8; DATA_KEY_LEN] =
        raw.as_slice().try_into().map_err(|_| ConfidentialError::UnwrapFailed { org: org.to_string() })?;
    if key_check(&data_key) != sealed.key_check {
        return Err(ConfidentialError::KeyCheckMismatch { org: org.to_string() });
    }
    Ok(data_key)
}

/// Open a sealed value as organisation `org` holding `key`; checks the commitment too.
pub fn open(sealed: &Sealed, aad: &[u8], org: &str, key: &KeyPair) -> Result<Opened, ConfidentialError> {
    let data_key = unwrap_key(sealed, org, key)?;
    let envelope =
        crypto::decrypt_at_rest(&data_key, aad, &sealed.ciphertext).map_err(|_| ConfidentialError::Decrypt)?;
    let Envelope { salt, payload } = borsh::from_slice(&envelope).map_err(|_| ConfidentialError::Envelope)?;
    if !prove_disclosure(&sealed.commitment, &salt, &payload) {
        return Err(ConfidentialError::CommitmentMismatch);
    }
    Ok(Opened { payload, salt })
}

/// Re-wrap the data key of `sealed` for a new recipient: the caller (`org`, holding `key`) must already
/// be a recipient. Returns the wrapped key to submit in a grant; the ciphertext is untouched.
pub fn rewrap(
    sealed: &Sealed,
    org: &str,
    key: &KeyPair,
    new_org: &str,
    new_key: &PublicKey,
) -> Result<WrappedKey, ConfidentialError> {
    let data_key = unwrap_key(sealed, org, key)?;
    Ok(WrappedKey { org: new_org.to_string(), wrapped: new_key.encrypt(&data_key)? })
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (KeyPair, KeyPair, KeyPair) {
        (KeyPair::from_seed("conf/seller"), KeyPair::from_seed("conf/regulator"), KeyPair::from_seed("conf/rival"))
    }

    #[test]
    fn entitled_parties_open_others_cannot() {
        let (seller, reg, rival) = keys();
        let aad = b"invoice/lines/00000000000000000001";
        let (sealed, opened) =
            seal(aad, b"price 12.50", &[("SELLER", *seller.public()), ("REG", *reg.public())]).expect("seal");
        assert_eq!(sealed.wrapped_keys[0].wrapped.len(), WRAPPED_KEY_LEN);
        assert_eq!(open(&sealed, aad, "REG", &reg).expect("open").payload, b"price 12.50");
        assert_eq!(open(&sealed, aad, "SELLER", &seller).expect("open"), opened);
        assert_eq!(open(&sealed, aad, "RIVAL", &rival), Err(ConfidentialError::NotARecipient { org: "RIVAL".into() }));
        // The rival's private key does not unwrap a key wrapped for someone else.
        assert_eq!(open(&sealed, aad, "REG", &rival), Err(ConfidentialError::UnwrapFailed { org: "REG".into() }));
        // Bound to its object: another AAD fails authentication.
        assert_eq!(open(&sealed, b"invoice/lines/other", "REG", &reg), Err(ConfidentialError::Decrypt));
    }

    #[test]
    fn rewrap_adds_a_recipient_without_touching_the_ciphertext() {
        let (seller, reg, _) = keys();
        let funder = KeyPair::from_seed("conf/funder");
        let (mut sealed, _) = seal(b"o", b"rate 4.5%", &[("SELLER", *seller.public())]).expect("seal");
        let before = sealed.ciphertext.clone();
        let w = rewrap(&sealed, "SELLER", &seller, "BANK", funder.public()).expect("rewrap");
        sealed.wrapped_keys.push(w);
        assert_eq!(sealed.ciphertext, before);
        assert_eq!(open(&sealed, b"o", "BANK", &funder).expect("open").payload, b"rate 4.5%");
        // A non-recipient cannot rewrap.
        assert!(matches!(
            rewrap(&sealed, "REG", &reg, "X", reg.public()),
            Err(ConfidentialError::NotARecipient { .. })
        ));
    }

    #[test]
    fn commitment_proves_a_disclosed_value_and_nothing_else() {
        let (seller, _, _) = keys();
        let (sealed, opened) = seal(b"o", b"qty 1000", &[("SELLER", *seller.public())]).expect("seal");
        assert!(prove_disclosure(&sealed.commitment, &opened.salt, b"qty 1000"));
        assert!(!prove_disclosure(&sealed.commitment, &opened.salt, b"qty 1001"));
        assert!(!prove_disclosure(&sealed.commitment, &[0u8; SALT_LEN], b"qty 1000"));
    }

    #[test]
    fn tampering_is_detected() {
        let (seller, _, _) = keys();
        let (mut sealed, _) = seal(b"o", b"x", &[("SELLER", *seller.public())]).expect("seal");
        let last = sealed.ciphertext.len() - 1;
        sealed.ciphertext[last] ^= 1;
        assert_eq!(open(&sealed, b"o", "SELLER", &seller), Err(ConfidentialError::Decrypt));
        let (mut sealed, _) = seal(b"o", b"x", &[("SELLER", *seller.public())]).expect("seal");
        sealed.key_check = Hash32::ZERO;
        assert!(matches!(open(&sealed, b"o", "SELLER", &seller), Err(ConfidentialError::KeyCheckMismatch { .. })));
    }
}
