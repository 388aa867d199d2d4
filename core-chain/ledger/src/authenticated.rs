//! Authenticated state: a Jellyfish Merkle tree (`jmt`) hashed with SM3. The state root commits to every
//! key/value; [`StateProof`] proves a value (or its absence) against a root without the node.
//!
//! Keys are hashed with SM3 into the tree's 256-bit key space; the tree version is the block height
//! (genesis is version 0). The backing store only has to implement `jmt::storage::TreeReader` and persist
//! a [`StateCommit`] atomically with its block.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use borsh::{BorshDeserialize, BorshSerialize};
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, SimpleHasher, Version};

use crate::crypto::{sm3, Hash32};
use crate::state::{StateError, StateRead};

/// SM3 as the tree's hasher.
pub struct Sm3Hasher(sm3::Sm3);

impl SimpleHasher for Sm3Hasher {
    fn new() -> Self {
        use sm3::Digest;
        Sm3Hasher(sm3::Sm3::new())
    }
    fn update(&mut self, data: &[u8]) {
        use sm3::Digest;
        self.0.update(data)
    }
    fn finalize(self) -> [u8; 32] {
        use sm3::Digest;
        self.0.finalize().into()
    }
}

pub type StateTree<'a, R> = jmt::JellyfishMerkleTree<'a, R, Sm3Hasher>;
pub type SparseProof = jmt::proof::SparseMerkleProof<Sm3Hasher>;

/// The tree key of a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash(sm3(key))
}

/// Everything one version adds to the tree, to be written atomically with the block.
#[derive(Debug, Clone, Default)]
pub struct StateCommit {
    pub version: Version,
    pub root: Hash32,
    pub node_batch: NodeBatch,
    /// key hash → original key, so stores can serve keys back (e.g. for debugging and exports).
    pub preimages: Vec<(KeyHash, Vec<u8>)>,
}

fn backend(e: impl std::fmt::Display) -> StateError {
    StateError(e.to_string())
}

/// Apply `writes` on top of `version - 1` (or an empty tree for version 0) and return the new root.
/// Takes the writes by value: values move into the tree update and keys into the preimages, each key
/// hashed once.
pub fn commit_writes<R: TreeReader>(
    reader: &R,
    version: Version,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<StateCommit, StateError> {
    let tree = StateTree::new(reader);
    let no_deletion = !writes.is_empty() && writes.values().all(Option::is_some);
    let mut preimages = Vec::with_capacity(writes.len());
    let mut set: Vec<(KeyHash, Option<OwnedValue>)> = Vec::with_capacity(writes.len());
    for (k, v) in writes {
        let kh = key_hash(&k);
        set.push((kh, v));
        preimages.push((kh, k));
    }
    let (root, batch) = if no_deletion {
        // No deletion: jmt's batch insertion hashes each touched node once, where `put_value_set`
        // re-hashes the path to the root for every key. Same tree, same root (tested below).
        let set: Vec<(KeyHash, OwnedValue)> = set.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        let (mut roots, batch) = tree.batch_put_value_sets(vec![set], None, version).map_err(backend)?;
        (roots.pop().ok_or_else(|| StateError("state tree: batch insertion returned no root".into()))?, batch)
    } else {
        tree.put_value_set(set, version).map_err(backend)?
    };
    Ok(StateCommit { version, root: Hash32(root.0), node_batch: batch.node_batch, preimages })
}

/// A read-only view of committed state as of `version` (None = the empty state before genesis).
pub struct VersionedState<'a, R> {
    pub reader: &'a R,
    pub version: Option<Version>,
}

impl<R: TreeReader> StateRead for VersionedState<'_, R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.version {
            None => Ok(None),
            Some(v) => self.reader.get_value_option(v, key_hash(key)).map_err(backend),
        }
    }
}

/// A value (or its absence) with a proof against the state root of `version`.
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    pub version: Version,
    pub root: Hash32,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: SparseProof,
}

impl StateProof {
    /// True if the proof shows `self.value` (or absence) under `self.key` for `expected_root`.
    pub fn verify(&self, expected_root: &Hash32) -> bool {
        self.root == *expected_root
            && self.proof.verify(jmt::RootHash(expected_root.0), key_hash(&self.key), self.value.as_ref()).is_ok()
    }
}

/// Build a proof for `key` at `version`.
pub fn prove<R: TreeReader>(reader: &R, key: &[u8], version: Version) -> Result<StateProof, StateError> {
    let tree = StateTree::new(reader);
    let (value, proof) = tree.get_with_proof(key_hash(key), version).map_err(backend)?;
    let root = tree.get_root_hash(version).map_err(backend)?;
    Ok(StateProof { version, root: Hash32(root.0), key: key.to_vec(), value, proof })
}

/// Root hash at `version`.
pub fn root_at<R: TreeReader>(reader: &R, version: Version) -> Result<Hash32, StateError> {
    StateTree::new(reader).get_root_hash(version).map(|r| Hash32(r.0)).map_err(backend)
}

/// An in-memory tree store (tests, tools, light replays).
#[derive(Default)]
pub struct MemTreeStore {
    nodes: RwLock<HashMap<NodeKey, Node>>,
    values: RwLock<BTreeMap<(KeyHash, Version), Option<OwnedValue>>>,
}

impl MemTreeStore {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn apply(&self, commit: &StateCommit) {
        if let Ok(mut nodes) = self.nodes.write() {
            for (k, n) in commit.node_batch.nodes() {
                nodes.insert(k.clone(), n.clone());
            }
        }
        if let Ok(mut values) = self.values.write() {
            for ((v, kh), val) in commit.node_batch.values() {
                values.insert((*kh, *v), val.clone());
            }
        }
    }
}

impl TreeReader for MemTreeStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let nodes = self.nodes.read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        Ok(nodes.get(node_key).cloned())
    }
    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let values = self.values.read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        Ok(values.range((key_hash, 0)..=(key_hash, max_version)).next_back().and_then(|(_, v)| v.clone()))
    }
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used by jmt's restore path, which this project does not use.
        Ok(None)
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn writes(version: u64, n: usize, delete: bool) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut w = BTreeMap::new();
        for i in 0..n {
            // Overlapping keys across versions: updates as well as inserts.
            let k = format!("key/{}", (i * 7 + version as usize * 3) % (n + 5));
            w.insert(k.into_bytes(), Some(format!("value {version} {i}").into_bytes()));
        }
        if delete {
            w.insert(b"key/1".to_vec(), None);
        }
        w
    }

    /// The batch path (blocks without deletions) and the per-key path give the same roots, and proofs
    /// from trees built either way verify.
    #[test]
    fn batch_insertion_gives_the_same_tree() {
        let batched = MemTreeStore::new();
        let single = MemTreeStore::new();
        for version in 0..6u64 {
            let w = writes(version, 40 + version as usize * 13, version == 4);
            let a = commit_writes(&batched, version, w.clone()).expect("batched");
            batched.apply(&a);
            // The reference: always per key.
            let tree = StateTree::new(&single);
            let set: Vec<(KeyHash, Option<OwnedValue>)> = w.iter().map(|(k, v)| (key_hash(k), v.clone())).collect();
            let (root, b) = tree.put_value_set(set, version).expect("single");
            single.apply(&StateCommit { version, root: Hash32(root.0), node_batch: b.node_batch, preimages: vec![] });
            assert_eq!(a.root, Hash32(root.0), "version {version}");
            for k in [b"key/1".as_slice(), b"key/2", b"missing"] {
                let p = prove(&batched, k, version).expect("proof");
                assert!(p.verify(&a.root), "proof of {k:?} at {version}");
            }
        }
    }
}
