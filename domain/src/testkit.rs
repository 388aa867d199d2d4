//! A small in-memory world for unit and property tests of modules: organisations with deterministic
//! keys, a settable block date, and transactional execution (a failed call leaves state untouched,
//! exactly as on chain).

use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::module::{Event, Module, ModuleError, TxContext};
use scf_ledger::state::{MemState, Overlay, StateWrite};

use crate::date::Date;
use crate::org::{self, Org, OrgStatus, Role};

pub struct World {
    pub state: MemState,
    pub height: u64,
    pub time_ms: u64,
    tx_counter: u64,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// Starts on 2026-01-05 at 10:00 Beijing time, height 1.
    pub fn new() -> Self {
        let mut w = World { state: MemState::default(), height: 1, time_ms: 0, tx_counter: 0 };
        w.set_date("2026-01-05");
        w
    }
    /// Deterministic key for an organisation id (or any name).
    pub fn key(name: &str) -> KeyPair {
        KeyPair::from_seed(&format!("testkit/{name}"))
    }
    /// Register an organisation; returns its (admin) key.
    pub fn add_org(&mut self, id: &str, roles: &[Role]) -> KeyPair {
        let key = Self::key(id);
        // Unique per id: 9131 + 14 hex digits of SM3(id), upper-cased (18 characters).
        let h = scf_ledger::crypto::sm3(id.as_bytes());
        let credit_code = format!("9131{}", hex::encode(&h[..7]).to_uppercase());
        let org = Org {
            id: id.to_string(),
            name: format!("{id} 有限公司"),
            credit_code: credit_code.chars().take(18).collect(),
            roles: roles.to_vec(),
            public_key: *key.public(),
            status: OrgStatus::Active,
        };
        if let Err(e) = org::register_org(&mut self.state, org) {
            panic!("testkit add_org {id}: {e}");
        }
        if roles.contains(&Role::Funder) {
            if let Err(e) = org::approve_funder(&mut self.state, id, 0) {
                panic!("testkit approve_funder {id}: {e}");
            }
        }
        key
    }
    /// Set the block date (10:00 Beijing time on that day) and advance the height.
    pub fn set_date(&mut self, ymd: &str) {
        let d = Date::parse(ymd).unwrap_or_else(|| panic!("testkit: bad date {ymd}"));
        // 10:00 CST = 02:00 UTC.
        self.time_ms = (d.0 as i64 * 86_400_000 + 2 * 3_600_000) as u64;
        self.height += 1;
    }
    pub fn today(&self) -> Date {
        Date::from_time_ms(self.time_ms)
    }
    pub fn ctx(&mut self, key: &KeyPair) -> TxContext {
        self.tx_counter += 1;
        TxContext {
            chain_id: "scf-test".into(),
            height: self.height,
            time_ms: self.time_ms,
            tx_id: Hash32::of(&self.tx_counter.to_le_bytes()),
            tx_index: 0,
            sender: *key.public(),
            sender_address: key.address(),
        }
    }
    /// Execute a call as `key`; on error nothing is written.
    pub fn exec(&mut self, module: &dyn Module, key: &KeyPair, payload: &[u8]) -> Result<Vec<Event>, ModuleError> {
        let ctx = self.ctx(key);
        let writes = {
            let mut overlay = Overlay::new(&self.state);
            let events = module.execute(&ctx, &mut overlay, payload)?;
            (overlay.into_writes(), events)
        };
        for (k, v) in writes.0 {
            match v {
                Some(v) => self.state.set(&k, v),
                None => self.state.delete(&k),
            }
        }
        Ok(writes.1)
    }
}
