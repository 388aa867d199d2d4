//! Authenticated state: a sparse Merkle tree of radix 16 over SM3 key hashes, versioned by block height.
//! The state root commits to every key/value; [`StateProof`] proves a value (or its absence) against a
//! root without the node.
//!
//! Shape (canonical: it depends only on the set of keys, not on the order they were written in):
//! - A state key `k` sits at the path of nibbles of `SM3(k)`.
//! - An internal node exists at a path when two or more keys share that path (the root always exists).
//!   It lists its non-empty children by nibble; a child is either a leaf (key hash and value hash,
//!   inline in its parent) or an internal node one nibble deeper.
//! - A key with no other key sharing its path below some internal node is a leaf of that node.
//!
//! Hashes (SM3, domain-separated):
//! - value hash `SM3(value)`;
//! - leaf `SM3(0x00 ‖ key hash ‖ value hash)`;
//! - internal node `SM3(0x01 ‖ bitmap (u16, big-endian, bit n = child n present) ‖ child hashes in nibble order)`.
//!
//! Versions: the tree of block `h` is version `h` (genesis is 0). A version writes a new copy of every
//! internal node it changes, keyed by (path, version), and leaves older versions intact, so any
//! committed version can be read and proven. Each version writes its root, even when nothing changed.
//! Internal nodes are immutable once written: readers may cache them by key.
//!
//! The backing store implements [`TreeReader`] and persists a [`StateCommit`] atomically with its block.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use borsh::{BorshDeserialize, BorshSerialize};

use crate::crypto::{sm3, sm3_parts, Hash32};
use crate::state::{StateError, StateRead};

/// A tree version (the block height).
pub type Version = u64;

/// Deepest level of the tree: a key hash has 64 nibbles.
const MAX_DEPTH: usize = 64;
const LEAF_TAG: u8 = 0;
const NODE_TAG: u8 = 1;

/// The tree key of a state key: its SM3 hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// Nibble `depth` (0..64) of the key hash: the child index at that depth.
    fn nibble(&self, depth: usize) -> usize {
        let b = self.0[depth / 2];
        usize::from(if depth.is_multiple_of(2) { b >> 4 } else { b & 0x0f })
    }
}

/// The tree key of a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash(sm3(key))
}

/// The hash of a leaf holding `value_hash` under `key`.
pub fn leaf_hash(key: &KeyHash, value_hash: &Hash32) -> Hash32 {
    Hash32(sm3_parts(&[&[LEAF_TAG], &key.0, &value_hash.0]))
}

/// The hash of an internal node with children `bitmap` whose hashes are `hashes` (in nibble order; at
/// most 16).
fn node_hash<'a>(bitmap: u16, hashes: impl IntoIterator<Item = &'a Hash32>) -> Hash32 {
    let bitmap = bitmap.to_be_bytes();
    let mut parts: [&[u8]; 18] = [&[]; 18];
    parts[0] = &[NODE_TAG];
    parts[1] = &bitmap;
    let mut n = 2;
    for (part, h) in parts[2..].iter_mut().zip(hashes) {
        *part = &h.0;
        n += 1;
    }
    Hash32(sm3_parts(&parts[..n]))
}

/// One child of an internal node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Child {
    /// A key with its leaf hash ([`leaf_hash`]). The value hash is not kept: a parent is rehashed
    /// from its children's hashes, and a proof reads the value from the value store (a third fewer
    /// bytes per leaf in every node a block rewrites).
    Leaf { key: KeyHash, hash: Hash32 },
    /// An internal node one level down, written at `version`.
    Node { version: Version, hash: Hash32 },
}

impl Child {
    pub fn hash(&self) -> &Hash32 {
        match self {
            Child::Leaf { hash, .. } | Child::Node { hash, .. } => hash,
        }
    }
}

/// An internal node: its non-empty children by nibble, in increasing nibble order.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize)]
pub struct InternalNode {
    children: Vec<(u8, Child)>,
}

type Slots = [Option<Child>; 16];

impl InternalNode {
    fn from_slots(slots: &Slots) -> InternalNode {
        let children = (0u8..).zip(slots.iter()).filter_map(|(i, c)| c.map(|c| (i, c))).collect();
        InternalNode { children }
    }

    fn slots(&self) -> Slots {
        let mut s: Slots = [None; 16];
        for (i, c) in &self.children {
            s[usize::from(*i)] = Some(*c);
        }
        s
    }

    /// Bit `n` is set when child `n` is present.
    pub fn bitmap(&self) -> u16 {
        self.children.iter().fold(0u16, |m, (i, _)| m | (1 << i))
    }

    pub fn child(&self, nibble: usize) -> Option<&Child> {
        self.children.iter().find(|(i, _)| usize::from(*i) == nibble).map(|(_, c)| c)
    }

    pub fn children(&self) -> &[(u8, Child)] {
        &self.children
    }

    pub fn hash(&self) -> Hash32 {
        node_hash(self.bitmap(), self.children.iter().map(|(_, c)| c.hash()))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decode a stored node, refusing anything a tree writer could not have produced.
    pub fn from_bytes(bytes: &[u8]) -> Result<InternalNode, StateError> {
        borsh::from_slice(bytes).map_err(|e| StateError(format!("state tree node: {e}")))
    }
}

impl BorshDeserialize for InternalNode {
    fn deserialize_reader<Rd: std::io::Read>(reader: &mut Rd) -> std::io::Result<Self> {
        let children: Vec<(u8, Child)> = BorshDeserialize::deserialize_reader(reader)?;
        if children.len() > 16
            || !children.windows(2).all(|w| w[0].0 < w[1].0)
            || children.iter().any(|(i, _)| *i >= 16)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "children are not distinct nibbles (0..16) in increasing order",
            ));
        }
        Ok(InternalNode { children })
    }
}

/// Where an internal node is stored: the version that wrote it and its path (the first `depth` nibbles
/// of any key below it). Ordered as stored: by version, then depth, then path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    pub version: Version,
    pub depth: u8,
    /// The path's nibbles, packed two per byte; nibbles from `depth` on are zero.
    pub path: [u8; 32],
}

impl NodeKey {
    /// The node at `depth` on the path of `key`, as written at `version`.
    pub fn new(key: &KeyHash, depth: usize, version: Version) -> NodeKey {
        let depth = depth.min(MAX_DEPTH);
        let mut path = [0u8; 32];
        path[..depth / 2].copy_from_slice(&key.0[..depth / 2]);
        if depth % 2 == 1 {
            path[depth / 2] = key.0[depth / 2] & 0xf0;
        }
        NodeKey { version, depth: depth as u8, path }
    }

    /// The storage key: version (big-endian), depth, the path's bytes. A version's nodes are adjacent,
    /// after every older version's, so a block's nodes append to the store's sorted runs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = usize::from(self.depth).div_ceil(2);
        let mut out = Vec::with_capacity(8 + 1 + n);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.push(self.depth);
        out.extend_from_slice(&self.path[..n]);
        out
    }
}

impl std::fmt::Display for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nibbles: String = (0..usize::from(self.depth))
            .map(|d| KeyHash(self.path).nibble(d))
            .map(|n| char::from_digit(n as u32, 16).unwrap_or('?'))
            .collect();
        write!(f, "[{nibbles}]@{}", self.version)
    }
}

/// What the tree reads from its store.
pub trait TreeReader {
    /// The internal node stored under `key`, if any.
    fn get_node_option(&self, key: &NodeKey) -> Result<Option<Arc<InternalNode>>, StateError>;
    /// The value of `key_hash` as of `max_version` (the latest write at or before it; `None` if
    /// absent or deleted).
    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StateError>;
}

fn get_node<R: TreeReader + ?Sized>(reader: &R, key: &NodeKey) -> Result<Arc<InternalNode>, StateError> {
    reader.get_node_option(key)?.ok_or_else(|| StateError(format!("state tree: node {key} is missing")))
}

/// Everything one version adds, to be written atomically with the block.
#[derive(Debug, Clone, Default)]
pub struct StateCommit {
    pub version: Version,
    pub root: Hash32,
    /// The internal nodes this version wrote, in key order.
    pub nodes: Vec<(NodeKey, Arc<InternalNode>)>,
    /// The version's writes in key-hash order: the new value of each key (`None`: deleted).
    pub values: Vec<(KeyHash, Option<Vec<u8>>)>,
    /// key hash → original key (key-hash order), so stores can serve keys back (e.g. for debugging and exports).
    pub preimages: Vec<(KeyHash, Vec<u8>)>,
}

/// One write, as the tree sees it.
#[derive(Clone, Copy)]
struct Op {
    key: KeyHash,
    /// The new leaf hash; `None`: delete.
    leaf: Option<Hash32>,
}

/// Applies one version's writes, collecting the nodes it writes.
struct Updater<'a, R: ?Sized> {
    reader: &'a R,
    version: Version,
    nodes: Vec<(NodeKey, Arc<InternalNode>)>,
}

impl<R: TreeReader + ?Sized> Updater<'_, R> {
    /// The new content of the slot at `depth` (its path is that of `ops`' keys) after `ops`, which
    /// are sorted by key and all share the slot's path. Below the root, an empty result is `None`
    /// and a subtree left with one key collapses to its leaf.
    fn update(&mut self, depth: usize, slot: Option<Child>, ops: &[Op]) -> Result<Option<Child>, StateError> {
        if ops.is_empty() && depth > 0 {
            return Ok(slot);
        }
        match slot {
            Some(Child::Node { version, .. }) => {
                let path = ops.first().map(|o| o.key).unwrap_or_default();
                let node = get_node(self.reader, &NodeKey::new(&path, depth, version))?;
                let mut slots = node.slots();
                self.descend(depth, &mut slots, ops)?;
                self.finish(depth, &path, &slots)
            }
            Some(Child::Leaf { key, hash }) => match ops.binary_search_by_key(&key, |o| o.key) {
                // The writes replace or delete the leaf.
                Ok(_) => self.fresh(depth, ops),
                // The leaf stays: it joins the writes so it lands wherever the new shape puts it.
                Err(at) => {
                    let mut merged = Vec::with_capacity(ops.len() + 1);
                    merged.extend_from_slice(&ops[..at]);
                    merged.push(Op { key, leaf: Some(hash) });
                    merged.extend_from_slice(&ops[at..]);
                    self.fresh(depth, &merged)
                }
            },
            None => self.fresh(depth, ops),
        }
    }

    /// A slot built from `ops` alone (deletions of absent keys are no-ops).
    fn fresh(&mut self, depth: usize, ops: &[Op]) -> Result<Option<Child>, StateError> {
        if depth > 0 {
            let mut puts = ops.iter().filter_map(|o| o.leaf.map(|hash| Child::Leaf { key: o.key, hash }));
            match (puts.next(), puts.next()) {
                (None, _) => return Ok(None),
                (Some(leaf), None) => return Ok(Some(leaf)),
                _ => {}
            }
        }
        let mut slots: Slots = [None; 16];
        self.descend(depth, &mut slots, ops)?;
        let path = ops.first().map(|o| o.key).unwrap_or_default();
        self.finish(depth, &path, &slots)
    }

    /// Apply `ops` to the children `slots` of the node at `depth`.
    fn descend(&mut self, depth: usize, slots: &mut Slots, ops: &[Op]) -> Result<(), StateError> {
        if depth >= MAX_DEPTH {
            return Err(StateError("state tree: two writes have the same key hash".into()));
        }
        let mut rest = ops;
        while let Some(first) = rest.first() {
            let n = first.key.nibble(depth);
            let end = rest.partition_point(|o| o.key.nibble(depth) == n);
            slots[n] = self.update(depth + 1, slots[n], &rest[..end])?;
            rest = &rest[end..];
        }
        Ok(())
    }

    /// The node at `depth` with children `slots`: written at this version, or (below the root) nothing
    /// when empty, or the only child when that is a leaf.
    fn finish(&mut self, depth: usize, path: &KeyHash, slots: &Slots) -> Result<Option<Child>, StateError> {
        if depth > 0 {
            let mut present = slots.iter().flatten();
            match (present.next(), present.next()) {
                (None, _) => return Ok(None),
                (Some(only @ Child::Leaf { .. }), None) => return Ok(Some(*only)),
                _ => {}
            }
        }
        let node = InternalNode::from_slots(slots);
        let hash = node.hash();
        self.nodes.push((NodeKey::new(path, depth, self.version), Arc::new(node)));
        Ok(Some(Child::Node { version: self.version, hash }))
    }
}

/// Apply `writes` on top of `version - 1` (or an empty tree for version 0) and return the new root
/// with the nodes and values to store. Takes the writes by value: values move into the commit and
/// keys into the preimages, each key hashed once.
pub fn commit_writes<R: TreeReader + ?Sized>(
    reader: &R,
    version: Version,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<StateCommit, StateError> {
    // In key-hash order: the tree's order, and the order the store writes values in.
    let mut entries: Vec<(KeyHash, Vec<u8>, Option<Vec<u8>>)> =
        writes.into_iter().map(|(k, v)| (key_hash(&k), k, v)).collect();
    entries.sort_unstable_by_key(|e| e.0);
    if entries.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(StateError("state tree: two state keys have the same SM3 hash".into()));
    }
    let ops: Vec<Op> = entries
        .iter()
        .map(|(key, _, v)| Op { key: *key, leaf: v.as_deref().map(|v| leaf_hash(key, &Hash32(sm3(v)))) })
        .collect();
    let mut values = Vec::with_capacity(entries.len());
    let mut preimages = Vec::with_capacity(entries.len());
    for (key, k, v) in entries {
        values.push((key, v));
        preimages.push((key, k));
    }
    let previous = version.checked_sub(1).map(|v| Child::Node { version: v, hash: Hash32::ZERO });
    let mut u = Updater { reader, version, nodes: Vec::new() };
    let root = match u.update(0, previous, &ops)? {
        Some(Child::Node { hash, .. }) => hash,
        _ => return Err(StateError("state tree: the root was not written".into())),
    };
    u.nodes.sort_unstable_by_key(|(k, _)| *k);
    Ok(StateCommit { version, root, nodes: u.nodes, values, preimages })
}

/// A read-only view of committed state as of `version` (None = the empty state before genesis).
pub struct VersionedState<'a, R: ?Sized> {
    pub reader: &'a R,
    pub version: Option<Version>,
}

impl<R: TreeReader + ?Sized> StateRead for VersionedState<'_, R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.version {
            None => Ok(None),
            Some(v) => self.reader.get_value_option(v, key_hash(key)),
        }
    }
}

/// One internal node on a proof's path: which children it has, and the hashes of all of them but
/// the one on the path (in nibble order).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProofLevel {
    pub bitmap: u16,
    pub siblings: Vec<Hash32>,
}

/// What the path ends in.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ProofEnd {
    /// The slot on the path is empty: the key is absent.
    Empty,
    /// A leaf: the key itself, or another key alone on the path (the key is absent).
    Leaf { key: KeyHash, value_hash: Hash32 },
}

/// The path from the root to where a key is (or would be).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SparseProof {
    /// Root first.
    pub levels: Vec<ProofLevel>,
    pub end: ProofEnd,
}

impl SparseProof {
    /// True if this proves `value` (or absence, for `None`) under `key` for `root`.
    pub fn verify(&self, root: &Hash32, key: &KeyHash, value: Option<&[u8]>) -> bool {
        let depth = self.levels.len();
        if depth == 0 || depth > MAX_DEPTH {
            return false;
        }
        let mut below = match (&self.end, value) {
            (ProofEnd::Leaf { key: k, value_hash }, Some(v)) if k == key && *value_hash == Hash32(sm3(v)) => {
                Some(leaf_hash(k, value_hash))
            }
            // Another key's leaf: it must sit on the same path.
            (ProofEnd::Leaf { key: k, value_hash }, None)
                if k != key && (0..depth).all(|d| k.nibble(d) == key.nibble(d)) =>
            {
                Some(leaf_hash(k, value_hash))
            }
            (ProofEnd::Empty, None) => None,
            _ => return false,
        };
        for (d, level) in self.levels.iter().enumerate().rev() {
            let n = key.nibble(d);
            let on_path = level.bitmap & (1 << n) != 0;
            if on_path != below.is_some() {
                return false;
            }
            if level.siblings.len() + usize::from(on_path) != level.bitmap.count_ones() as usize {
                return false;
            }
            let mut hashes = [Hash32::ZERO; 16];
            let mut siblings = level.siblings.iter();
            let mut count = 0;
            for i in (0..16).filter(|i| level.bitmap & (1 << i) != 0) {
                let h = if i == n { below } else { siblings.next().copied() };
                match h {
                    Some(h) => hashes[count] = h,
                    None => return false,
                }
                count += 1;
            }
            below = Some(node_hash(level.bitmap, &hashes[..count]));
        }
        below.as_ref() == Some(root)
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
        self.root == *expected_root && self.proof.verify(expected_root, &key_hash(&self.key), self.value.as_deref())
    }
}

/// Build a proof for `key` at `version`.
pub fn prove<R: TreeReader + ?Sized>(reader: &R, key: &[u8], version: Version) -> Result<StateProof, StateError> {
    let kh = key_hash(key);
    let mut node = get_node(reader, &NodeKey::new(&kh, 0, version))?;
    let root = node.hash();
    let mut levels = Vec::new();
    let mut depth = 0;
    // The path's end, and the value read for its leaf (the key's own value when the leaf is the key's).
    let (end, leaf_value) = loop {
        let n = kh.nibble(depth);
        let siblings = node.children.iter().filter(|(i, _)| usize::from(*i) != n).map(|(_, c)| *c.hash()).collect();
        levels.push(ProofLevel { bitmap: node.bitmap(), siblings });
        match node.child(n).copied() {
            None => break (ProofEnd::Empty, None),
            Some(Child::Leaf { key, hash }) => {
                // The leaf keeps only its hash: the value hash comes from the value store, and must
                // give the same leaf.
                let value = reader.get_value_option(version, key)?.ok_or_else(|| {
                    StateError(format!("state tree: the leaf of {key:?} at {version} has no stored value"))
                })?;
                let value_hash = Hash32(sm3(&value));
                if leaf_hash(&key, &value_hash) != hash {
                    return Err(StateError(format!(
                        "state tree: the leaf of {key:?} and its stored value disagree at {version}"
                    )));
                }
                break (ProofEnd::Leaf { key, value_hash }, Some((key, value)));
            }
            Some(Child::Node { version: v, .. }) => {
                depth += 1;
                if depth >= MAX_DEPTH {
                    return Err(StateError("state tree: path deeper than a key hash".into()));
                }
                node = get_node(reader, &NodeKey::new(&kh, depth, v))?;
            }
        }
    };
    let value = match leaf_value {
        Some((key, value)) if key == kh => Some(value),
        _ => reader.get_value_option(version, kh)?,
    };
    // The tree and the value store must agree.
    let agrees = match (&end, &value) {
        (ProofEnd::Leaf { key, value_hash }, Some(v)) if *key == kh => *value_hash == Hash32(sm3(v)),
        (ProofEnd::Leaf { key, .. }, None) => *key != kh,
        (ProofEnd::Empty, None) => true,
        _ => false,
    };
    if !agrees {
        return Err(StateError(format!("state tree: the tree and the stored value of {kh:?} disagree at {version}")));
    }
    Ok(StateProof { version, root, key: key.to_vec(), value, proof: SparseProof { levels, end } })
}

/// Root hash at `version`.
pub fn root_at<R: TreeReader + ?Sized>(reader: &R, version: Version) -> Result<Hash32, StateError> {
    Ok(get_node(reader, &NodeKey::new(&KeyHash::default(), 0, version))?.hash())
}

/// Every value ever written, by (key hash, version); `None`: deleted at that version.
type VersionedValues = BTreeMap<(KeyHash, Version), Option<Vec<u8>>>;

/// An in-memory tree store (tests, tools, light replays).
#[derive(Default)]
pub struct MemTreeStore {
    nodes: RwLock<HashMap<NodeKey, Arc<InternalNode>>>,
    values: RwLock<VersionedValues>,
}

impl MemTreeStore {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn apply(&self, commit: &StateCommit) {
        if let Ok(mut nodes) = self.nodes.write() {
            for (k, n) in &commit.nodes {
                nodes.insert(*k, n.clone());
            }
        }
        if let Ok(mut values) = self.values.write() {
            for (kh, val) in &commit.values {
                values.insert((*kh, commit.version), val.clone());
            }
        }
    }
}

fn poisoned<T>(_: T) -> StateError {
    StateError("in-memory tree store: lock poisoned".into())
}

impl TreeReader for MemTreeStore {
    fn get_node_option(&self, key: &NodeKey) -> Result<Option<Arc<InternalNode>>, StateError> {
        Ok(self.nodes.read().map_err(poisoned)?.get(key).cloned())
    }
    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StateError> {
        let values = self.values.read().map_err(poisoned)?;
        Ok(values.range((key_hash, 0)..=(key_hash, max_version)).next_back().and_then(|(_, v)| v.clone()))
    }
}

#[cfg(test)]
mod tests;
