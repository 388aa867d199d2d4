//! The batch format transactions travel in, between nodes (gossip) and from clients (`POST /txs`):
//! `count: u32 LE`, then per transaction `len: u32 LE` and its wire bytes. Every bound is checked
//! before anything is allocated.

use scf_ledger::tx::MAX_TX_BYTES;

/// Most transactions in one gossip message.
pub const MAX_BATCH_TXS: usize = 2000;
/// Most bytes of one encoded batch (a single transaction is at most [`MAX_TX_BYTES`], so it always fits).
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Bytes of a length prefix (`u32` little-endian).
pub const LEN: usize = 4;

/// Why a received batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("batch of {len} bytes exceeds {MAX_BATCH_BYTES}")]
    TooLarge { len: usize },
    #[error("batch of {count} transactions: must be 1..={MAX_BATCH_TXS}")]
    Count { count: usize },
    #[error("transaction {index}: {len} bytes, must be 1..={MAX_TX_BYTES}")]
    TxSize { index: usize, len: usize },
    #[error("truncated at byte {at}")]
    Truncated { at: usize },
    #[error("{extra} bytes after the last transaction")]
    Trailing { extra: usize },
}

/// Encode a batch: `count: u32 LE`, then per transaction `len: u32 LE` and its wire bytes.
/// Fails on an empty or oversized batch, exactly when [`decode_batch`] would refuse the result.
pub fn encode_batch(raws: &[Vec<u8>]) -> Result<Vec<u8>, BatchError> {
    if raws.is_empty() || raws.len() > MAX_BATCH_TXS {
        return Err(BatchError::Count { count: raws.len() });
    }
    let mut len = LEN;
    for (index, r) in raws.iter().enumerate() {
        if r.is_empty() || r.len() > MAX_TX_BYTES {
            return Err(BatchError::TxSize { index, len: r.len() });
        }
        len += LEN + r.len();
    }
    if len > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge { len });
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(raws.len() as u32).to_le_bytes());
    for r in raws {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    Ok(out)
}

/// Decode a batch written by [`encode_batch`], checking every bound before allocating.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Vec<u8>>, BatchError> {
    if bytes.len() > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge { len: bytes.len() });
    }
    let mut at = 0usize;
    let read_len = |at: &mut usize| -> Result<usize, BatchError> {
        let b = bytes.get(*at..*at + LEN).ok_or(BatchError::Truncated { at: *at })?;
        *at += LEN;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = read_len(&mut at)?;
    if count == 0 || count > MAX_BATCH_TXS {
        return Err(BatchError::Count { count });
    }
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let len = read_len(&mut at)?;
        if len == 0 || len > MAX_TX_BYTES {
            return Err(BatchError::TxSize { index, len });
        }
        let tx = bytes.get(at..at + len).ok_or(BatchError::Truncated { at })?;
        out.push(tx.to_vec());
        at += len;
    }
    if at != bytes.len() {
        return Err(BatchError::Trailing { extra: bytes.len() - at });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws(n: usize, len: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![(i % 251) as u8 + 1; len]).collect()
    }

    #[test]
    fn batch_round_trips() {
        for (n, len) in [(1, 1), (3, 200), (MAX_BATCH_TXS, 100), (15, MAX_TX_BYTES)] {
            let b = raws(n, len);
            let enc = encode_batch(&b).expect("encode");
            assert_eq!(enc.len(), LEN + n * (LEN + len));
            assert_eq!(decode_batch(&enc).expect("decode"), b);
        }
    }

    #[test]
    fn truncated_or_padded_batches_are_refused() {
        let enc = encode_batch(&raws(3, 50)).expect("encode");
        for cut in 0..enc.len() {
            assert!(decode_batch(&enc[..cut]).is_err(), "prefix of {cut} bytes accepted");
        }
        let mut padded = enc.clone();
        padded.push(0);
        assert_eq!(decode_batch(&padded), Err(BatchError::Trailing { extra: 1 }));
    }

    #[test]
    fn oversized_batches_are_refused() {
        // Too many transactions, or a count claiming more than the bound (checked before allocating).
        assert!(matches!(encode_batch(&raws(MAX_BATCH_TXS + 1, 1)), Err(BatchError::Count { .. })));
        assert!(matches!(encode_batch(&[]), Err(BatchError::Count { count: 0 })));
        let mut claim = u32::MAX.to_le_bytes().to_vec();
        claim.extend_from_slice(&[0; 16]);
        assert!(matches!(decode_batch(&claim), Err(BatchError::Count { .. })));
        assert!(matches!(decode_batch(&0u32.to_le_bytes()), Err(BatchError::Count { count: 0 })));
        // A transaction longer than any transaction may be, or empty.
        let mut big = 1u32.to_le_bytes().to_vec();
        big.extend_from_slice(&((MAX_TX_BYTES + 1) as u32).to_le_bytes());
        big.extend(std::iter::repeat_n(7u8, MAX_TX_BYTES + 1));
        assert!(matches!(decode_batch(&big), Err(BatchError::TxSize { index: 0, .. })));
        assert!(matches!(encode_batch(&[vec![]]), Err(BatchError::TxSize { index: 0, len: 0 })));
        // A batch beyond the total bound.
        assert!(matches!(encode_batch(&raws(17, MAX_TX_BYTES)), Err(BatchError::TooLarge { .. })));
        assert!(matches!(decode_batch(&vec![1; MAX_BATCH_BYTES + 1]), Err(BatchError::TooLarge { .. })));
    }
}
