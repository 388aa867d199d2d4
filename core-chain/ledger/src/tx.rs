//! Transactions: what a client signs and the chain executes.
//!
//! Signing bytes = `"SCF-TX-v1" ‖ borsh(TxBody)`; the signature is SM2 (default distinguishing ID) over those
//! bytes. The transaction id is SM3 of the signing bytes, so a re-signature of the same body (SM2 signatures
//! are randomised in general) never yields a "new" transaction: replay protection is the nonce, never the
//! signature bytes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::codec::{decode_canonical, encode, DecodeError};
use crate::crypto::{sm3_parts, Address, CryptoError, Hash32, KeyPair, PublicKey, Signature};

/// Domain-separation prefix of the bytes a transaction signature covers.
pub const TX_SIGNING_PREFIX: &[u8] = b"SCF-TX-v1";
/// Hard upper bound on an encoded signed transaction, checked before decoding.
pub const MAX_TX_BYTES: usize = 256 * 1024;
/// Longest module name.
pub const MAX_MODULE_NAME: usize = 32;

/// A call into one domain module: the module's name and its own typed payload (Borsh-encoded call enum).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Call {
    pub module: String,
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TxBody {
    /// Must equal the chain's id (replay protection across chains).
    pub chain_id: String,
    pub sender: PublicKey,
    /// Must equal the sender's next nonce exactly.
    pub nonce: u64,
    /// Last block height at which this transaction may be included.
    pub expiry_height: u64,
    pub call: Call,
}

impl TxBody {
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = TX_SIGNING_PREFIX.to_vec();
        out.extend(encode(self));
        out
    }
    pub fn sign(self, key: &KeyPair) -> SignedTx {
        let signature = key.sign(&self.signing_bytes());
        SignedTx { body: self, signature }
    }
}

/// A transaction with its signature: the unit clients submit and blocks carry.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTx {
    pub body: TxBody,
    pub signature: Signature,
}

impl SignedTx {
    /// SM3 of the signing bytes.
    pub fn id(&self) -> Hash32 {
        Hash32(sm3_parts(&[TX_SIGNING_PREFIX, &encode(&self.body)]))
    }
    pub fn sender_address(&self) -> Address {
        self.body.sender.address()
    }
    pub fn verify_signature(&self) -> Result<(), CryptoError> {
        self.body.sender.verify(&self.body.signing_bytes(), &self.signature)
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
    /// Decode wire bytes, refusing oversize input, trailing bytes and non-canonical forms, and checking the
    /// structural limits (module name). The signature is *not* checked here.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let tx: SignedTx = decode_canonical("transaction", bytes, MAX_TX_BYTES)?;
        if tx.body.call.module.is_empty() || tx.body.call.module.len() > MAX_MODULE_NAME {
            return Err(DecodeError::Malformed {
                what: "transaction",
                reason: format!("call.module: must be 1..={MAX_MODULE_NAME} bytes"),
            });
        }
        Ok(tx)
    }
}

/// Serde for byte fields as lowercase hex strings.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}
