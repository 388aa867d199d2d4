//! The canonical encoding: Borsh (https://borsh.io), plus three rules enforced on decode.
//!
//! Borsh gives every value exactly one byte form (little-endian fixed-width integers, u32 length prefixes,
//! enum variants as one tag byte, `Option` as 0/1 tag). On top of it, [`decode_canonical`]:
//! 1. refuses input larger than the caller's limit before parsing anything;
//! 2. refuses trailing bytes after the value;
//! 3. re-encodes the decoded value and refuses the input unless the bytes are identical, which rules out
//!    any other non-canonical form (for example a bool byte of 2, or an out-of-order map).

use borsh::{BorshDeserialize, BorshSerialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{what}: input is {len} bytes, larger than the limit of {limit}")]
    Oversize { what: &'static str, len: usize, limit: usize },
    #[error("{what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("{what}: {extra} trailing bytes after the value")]
    TrailingBytes { what: &'static str, extra: usize },
    #[error("{what}: not the canonical encoding of the value")]
    NonCanonical { what: &'static str },
}

/// Encode a value canonically.
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    // Writing to a Vec cannot fail.
    borsh::to_vec(value).unwrap_or_default()
}

/// Decode `bytes` as exactly one canonical `T`, no longer than `limit`.
pub fn decode_canonical<T: BorshDeserialize + BorshSerialize>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::Oversize { what, len: bytes.len(), limit });
    }
    let mut slice = bytes;
    let value = T::deserialize(&mut slice).map_err(|e| DecodeError::Malformed { what, reason: e.to_string() })?;
    if !slice.is_empty() {
        return Err(DecodeError::TrailingBytes { what, extra: slice.len() });
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NonCanonical { what });
    }
    Ok(value)
}
