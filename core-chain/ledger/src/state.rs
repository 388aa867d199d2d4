//! The state interface modules see: a flat byte-key → byte-value map. Domain code is written against
//! [`StateRead`] / [`StateWrite`] only, so it never knows whether it runs on RocksDB, in memory or on an
//! overlay that a failed transaction will throw away.

use std::collections::BTreeMap;

/// Longest state key accepted.
pub const MAX_KEY_BYTES: usize = 512;

/// A failure of the storage behind the state (not a business rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state backend: {0}")]
pub struct StateError(pub String);

pub trait StateRead {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

pub trait StateWrite: StateRead {
    fn set(&mut self, key: &[u8], value: Vec<u8>);
    fn delete(&mut self, key: &[u8]);
}

/// Plain in-memory state, for unit tests of modules and for tools.
#[derive(Debug, Clone, Default)]
pub struct MemState {
    pub map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl StateRead for MemState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.map.get(key).cloned())
    }
}
impl StateWrite for MemState {
    fn set(&mut self, key: &[u8], value: Vec<u8>) {
        self.map.insert(key.to_vec(), value);
    }
    fn delete(&mut self, key: &[u8]) {
        self.map.remove(key);
    }
}

/// Buffered writes over a read-only base. A transaction runs on an overlay; only on success are its
/// writes merged into the block's overlay, so a failed transaction changes nothing.
pub struct Overlay<'a> {
    base: &'a dyn StateRead,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn StateRead) -> Self {
        Overlay { base, writes: BTreeMap::new() }
    }
    pub fn into_writes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.writes
    }
    pub fn writes(&self) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.writes
    }
    pub fn apply(&mut self, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        self.writes.extend(writes);
    }
}

impl StateRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }
}
impl StateWrite for Overlay<'_> {
    fn set(&mut self, key: &[u8], value: Vec<u8>) {
        self.writes.insert(key.to_vec(), Some(value));
    }
    fn delete(&mut self, key: &[u8]) {
        self.writes.insert(key.to_vec(), None);
    }
}
