//! Verifying many signatures at once. Each answer is exactly the one a single verification gives; the
//! batch only shares work: a key that signs several items is parsed, hashed into Z_A and tabulated once,
//! and the odd-multiple tables of all the batch's keys become affine with a single inversion, so every
//! key addition in the main loop is a mixed one.

use std::collections::HashMap;

use crate::point::{normalize_batch, Affine};
use crate::table::{odd_multiples_jacobian, KEY_WNAF_WIDTH};
use crate::verify::{check_x, mul_cold_affine, scalars, Scalars};
use crate::{Error, VerifyingKey};

/// Z_A per (distinct key, distinguishing id) within one batch.
type ZaByKeyAndId<'a> = HashMap<(usize, &'a [u8]), Result<[u8; 32], Error>>;

/// One signature to check, in the wire formats of [`crate::verify`].
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// 65-byte SEC1 uncompressed public key.
    pub key: &'a [u8],
    /// Distinguishing id the signer used ([`crate::DEFAULT_DIST_ID`] in the protocol).
    pub dist_id: &'a [u8],
    pub msg: &'a [u8],
    /// r ‖ s, big-endian.
    pub sig: &'a [u8; 64],
}

/// Verifies every item; `result[i]` equals `VerifyingKey::from_sec1_bytes(key)?.verify(dist_id, msg, sig)`
/// for `items[i]`, error included. Single-threaded: callers split large batches across threads.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<Result<(), Error>> {
    let all: Vec<usize> = (0..items.len()).collect();
    let mut out = vec![Err(Error::Mismatch); items.len()];
    for (i, r) in verify_cold_subset(items, &all) {
        out[i] = r;
    }
    out
}

/// Verifies `items[i]` for each `i` in `which` on the cold path; answers come back as (index, result).
pub(crate) fn verify_cold_subset(items: &[BatchItem<'_>], which: &[usize]) -> Vec<(usize, Result<(), Error>)> {
    let mut answers = Vec::with_capacity(which.len());
    // Distinct keys in first-seen order, each parsed once.
    let mut slot_of: HashMap<&[u8], usize> = HashMap::new();
    let mut keys: Vec<Result<VerifyingKey, Error>> = Vec::new();
    let mut z_a: ZaByKeyAndId<'_> = HashMap::new();
    // Items still to check, with where their key's odd multiples start in `jacobian`.
    let mut pending: Vec<(usize, usize, Scalars)> = Vec::new();
    let mut table_start: HashMap<usize, usize> = HashMap::new();
    let mut jacobian = Vec::new();
    for &i in which {
        let item = &items[i];
        let slot = *slot_of.entry(item.key).or_insert_with(|| {
            keys.push(VerifyingKey::from_sec1_bytes(item.key));
            keys.len() - 1
        });
        let key = match &keys[slot] {
            Ok(k) => k,
            Err(e) => {
                answers.push((i, Err(*e)));
                continue;
            }
        };
        let za = *z_a.entry((slot, item.dist_id)).or_insert_with(|| key.z_a(item.dist_id));
        let prepared = za.and_then(|za| scalars(item.sig, &VerifyingKey::digest(&za, item.msg)));
        match prepared {
            Ok(sc) => {
                let start = *table_start.entry(slot).or_insert_with(|| {
                    let start = jacobian.len();
                    jacobian.extend(odd_multiples_jacobian(&key.point, KEY_WNAF_WIDTH));
                    start
                });
                pending.push((i, start, sc));
            }
            Err(e) => answers.push((i, Err(e))),
        }
    }

    // Every key's odd multiples made affine together: one inversion for the whole batch.
    let affine: Vec<Affine> = normalize_batch(&jacobian);
    let per_key = 1usize << (KEY_WNAF_WIDTH - 2);

    for (i, start, sc) in pending {
        let q_table = &affine[start..start + per_key];
        answers.push((i, check_x(&mul_cold_affine(&sc.s, &sc.t, q_table), &sc.expected_x)));
    }
    answers
}
