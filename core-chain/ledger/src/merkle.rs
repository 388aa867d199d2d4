//! SM3 binary Merkle tree over transaction ids (RFC 6962 shape: leaf = SM3(0x00 ‖ id),
//! node = SM3(0x01 ‖ left ‖ right), an odd node is promoted unchanged; the empty tree's root is SM3("")).
//! Proofs are checked with [`MerkleProof::verify`] and need nothing but the root.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{sm3, sm3_parts, Hash32};

fn leaf_hash(item: &Hash32) -> Hash32 {
    Hash32(sm3_parts(&[&[0u8], &item.0]))
}
fn node_hash(l: &Hash32, r: &Hash32) -> Hash32 {
    Hash32(sm3_parts(&[&[1u8], &l.0, &r.0]))
}

/// Root over `items` in order.
pub fn merkle_root(items: &[Hash32]) -> Hash32 {
    if items.is_empty() {
        return Hash32(sm3(b""));
    }
    let mut level: Vec<Hash32> = items.iter().map(leaf_hash).collect();
    while level.len() > 1 {
        level = level.chunks(2).map(|c| if c.len() == 2 { node_hash(&c[0], &c[1]) } else { c[0] }).collect();
    }
    level[0]
}

/// One step of a proof: the sibling hash and whether it sits on the left.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProofStep {
    pub sibling: Hash32,
    pub sibling_on_left: bool,
}

/// Inclusion proof of one item at `index` among `count` items.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct MerkleProof {
    pub index: u32,
    pub count: u32,
    pub steps: Vec<ProofStep>,
}

/// Proof for `items[index]`, or `None` if out of range.
pub fn merkle_proof(items: &[Hash32], index: usize) -> Option<MerkleProof> {
    if index >= items.len() {
        return None;
    }
    let mut steps = Vec::new();
    let mut level: Vec<Hash32> = items.iter().map(leaf_hash).collect();
    let mut i = index;
    while level.len() > 1 {
        let sib = i ^ 1;
        if sib < level.len() {
            steps.push(ProofStep { sibling: level[sib], sibling_on_left: sib < i });
        }
        level = level.chunks(2).map(|c| if c.len() == 2 { node_hash(&c[0], &c[1]) } else { c[0] }).collect();
        i /= 2;
    }
    Some(MerkleProof { index: index as u32, count: items.len() as u32, steps })
}

impl MerkleProof {
    /// True if `item` is at `self.index` under `root`. The path shape is recomputed from index and count,
    /// so a proof cannot claim a different position.
    pub fn verify(&self, item: &Hash32, root: &Hash32) -> bool {
        if self.index >= self.count {
            return false;
        }
        let mut h = leaf_hash(item);
        let (mut i, mut n) = (self.index as usize, self.count as usize);
        let mut steps = self.steps.iter();
        while n > 1 {
            let sib = i ^ 1;
            if sib < n {
                let Some(step) = steps.next() else { return false };
                if step.sibling_on_left != (sib < i) {
                    return false;
                }
                h = if step.sibling_on_left { node_hash(&step.sibling, &h) } else { node_hash(&h, &step.sibling) };
            }
            i /= 2;
            n = n.div_ceil(2);
        }
        steps.next().is_none() && h == *root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_proves_and_tampering_fails() {
        for n in 1..40usize {
            let items: Vec<Hash32> = (0..n).map(|i| Hash32::of(&(i as u64).to_le_bytes())).collect();
            let root = merkle_root(&items);
            for i in 0..n {
                let p = merkle_proof(&items, i).expect("in range");
                assert!(p.verify(&items[i], &root), "n={n} i={i}");
                let other = Hash32::of(b"other");
                assert!(!p.verify(&other, &root));
                if n > 1 {
                    let mut moved = p.clone();
                    moved.index = ((i + 1) % n) as u32;
                    assert!(!moved.verify(&items[i], &root) || items[i] == items[(i + 1) % n]);
                }
            }
        }
        assert!(merkle_proof(&[], 0).is_none());
    }
}
