//! Key rotation and expiry for accounts (organisation keys and their users' keys), without downtime.
//!
//! A rotation adds the new key at once and *announces* the height after which the old key is refused,
//! so clients can switch over while both work. Every signed call goes through
//! [`crate::org::signer_at`], which asks [`check_usable`] with the block's height and time. A key may
//! also carry an expiry (block time, e.g. its certificate's notAfter); [`expiring_keys`] lists keys
//! that expire within a warning window so the node can log, count and show them well before.
//!
//! Organisation keys are rotated by a governance proposal (`RotateOrgKey`); an organisation's admin
//! rotates its users' keys and sets expiries itself with [`KeyCall`].

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::{Address, PublicKey};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::kv::{self, StoreError};
use crate::org::{self, AccountStatus, OrgError};

pub const MODULE: &str = "keys";

/// Most keys with an expiry tracked in the expiry index.
pub const MAX_TRACKED: usize = 10_000;

/// Lifecycle facts of one account key, kept apart from the account record.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct KeyMeta {
    /// The key is refused in blocks above this height.
    pub retires_at_height: Option<u64>,
    /// The key that replaces it.
    pub replaced_by: Option<Address>,
    /// The key is refused in blocks at or after this time (ms since the epoch, block time).
    pub expires_at_ms: Option<u64>,
}

/// A key that expires within the warning window (or already has).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringKey {
    pub address: Address,
    pub org: String,
    pub label: String,
    pub expires_at_ms: u64,
    /// Milliseconds left at `now_ms` (0 once expired).
    pub ms_left: u64,
    pub expired: bool,
}

/// Calls of the `keys` module (signed by an admin account of the key's organisation).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum KeyCall {
    /// Replace a user's key: `new_key` works at once, `old` is refused above `retire_at_height`.
    RotateAccount { old: Address, new_key: PublicKey, label: String, retire_at_height: u64 },
    /// Record (or clear) when a key expires, e.g. its certificate's notAfter.
    SetExpiry { address: Address, expires_at_ms: Option<u64> },
}

fn meta_key(addr: &Address) -> String {
    format!("keys/m/{}", addr.to_hex())
}
const EXPIRY_INDEX_KEY: &str = "keys/expiring";

pub fn load_meta(state: &dyn StateRead, addr: &Address) -> Result<KeyMeta, StoreError> {
    Ok(kv::get(state, &meta_key(addr))?.unwrap_or_default())
}

fn save_meta(state: &mut dyn StateWrite, addr: &Address, meta: &KeyMeta) -> Result<(), OrgError> {
    kv::put(state, &meta_key(addr), meta);
    let mut index: Vec<Address> = kv::get(state, EXPIRY_INDEX_KEY)?.unwrap_or_default();
    let present = index.contains(addr);
    if meta.expires_at_ms.is_some() && !present {
        if index.len() >= MAX_TRACKED {
            return Err(OrgError::Invalid {
                field: "expires_at_ms".into(),
                reason: format!("at most {MAX_TRACKED} keys with an expiry"),
            });
        }
        index.push(*addr);
        kv::put(state, EXPIRY_INDEX_KEY, &index);
    } else if meta.expires_at_ms.is_none() && present {
        index.retain(|a| a != addr);
        kv::put(state, EXPIRY_INDEX_KEY, &index);
    }
    Ok(())
}

/// May this key sign in a block at `height` and `time_ms`? Refuses a retired key after its announced
/// height (`ACCOUNT_KEY_RETIRED`) and an expired key (`ACCOUNT_KEY_EXPIRED`).
pub fn check_usable(state: &dyn StateRead, addr: &Address, height: u64, time_ms: u64) -> Result<(), OrgError> {
    let meta = load_meta(state, addr)?;
    if let Some(h) = meta.retires_at_height {
        if height > h {
            return Err(OrgError::KeyRetired { address: *addr, retired_after: h, replaced_by: meta.replaced_by });
        }
    }
    if let Some(t) = meta.expires_at_ms {
        if time_ms >= t {
            return Err(OrgError::KeyExpired { address: *addr, expires_at_ms: t });
        }
    }
    Ok(())
}

/// Keys that expire before `now_ms + warn_window_ms` (expired ones included), soonest first — what the
/// node logs, counts in a metric and the API shows as a warning.
pub fn expiring_keys(state: &dyn StateRead, now_ms: u64, warn_window_ms: u64) -> Result<Vec<ExpiringKey>, StoreError> {
    let index: Vec<Address> = kv::get(state, EXPIRY_INDEX_KEY)?.unwrap_or_default();
    let horizon = now_ms.saturating_add(warn_window_ms);
    let mut out = Vec::new();
    for addr in index {
        let meta = load_meta(state, &addr)?;
        let Some(t) = meta.expires_at_ms else { continue };
        if t > horizon {
            continue;
        }
        let Some(acct) = org::load_account(state, &addr)? else { continue };
        if acct.status == AccountStatus::Removed {
            continue;
        }
        out.push(ExpiringKey {
            address: addr,
            org: acct.org_id,
            label: acct.label,
            expires_at_ms: t,
            ms_left: t.saturating_sub(now_ms),
            expired: t <= now_ms,
        });
    }
    out.sort_by_key(|k| (k.expires_at_ms, k.address));
    Ok(out)
}

/// Announce that `old` is refused above `retire_at_height`, replaced by `new`.
pub fn retire(
    state: &mut dyn StateWrite,
    old: &Address,
    new: &Address,
    retire_at_height: u64,
    height: u64,
) -> Result<(), OrgError> {
    if retire_at_height < height {
        return Err(OrgError::Invalid {
            field: "retire_at_height".into(),
            reason: format!("{retire_at_height} is before the current height {height}"),
        });
    }
    let mut meta = load_meta(state, old)?;
    meta.retires_at_height = Some(retire_at_height);
    meta.replaced_by = Some(*new);
    save_meta(state, old, &meta)
}

/// Rotate an organisation's own key (governance): the new key becomes an admin account and the key
/// data keys are wrapped for from now on; the old one is refused above `retire_at_height`.
pub fn rotate_org_key(
    state: &mut dyn StateWrite,
    org_id: &str,
    new_key: PublicKey,
    retire_at_height: u64,
    height: u64,
) -> Result<Event, OrgError> {
    let mut o = org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.to_string() })?;
    let old = o.public_key;
    if old == new_key {
        return Err(OrgError::Invalid { field: "new_key".into(), reason: "same as the current key".into() });
    }
    org::add_account(state, org_id, new_key, "organisation key".into(), true)?;
    retire(state, &old.address(), &new_key.address(), retire_at_height, height)?;
    o.public_key = new_key;
    org::save_org(state, &o);
    Ok(kv::event(
        MODULE,
        "OrgKeyRotated",
        &[("org", org_id), ("account", &new_key.address().to_hex())],
        &serde_json::json!({ "org": org_id, "old": old.address(), "new": new_key.address(), "retire_at_height": retire_at_height }),
    ))
}

fn own_admin(state: &dyn StateRead, ctx: &TxContext, target: &Address) -> Result<(org::Account, String), OrgError> {
    let (me, o) = org::signer_at(state, ctx)?;
    if !me.admin {
        return Err(OrgError::NotAdmin { org: o.id });
    }
    let acct = org::load_account(state, target)?.ok_or(OrgError::UnknownAccount { address: *target })?;
    if acct.org_id != o.id {
        return Err(OrgError::NotOwnAccount { address: *target, org: o.id });
    }
    Ok((acct, o.id))
}

pub struct KeysModule;

impl ModuleCall for KeyCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for KeysModule {
    type Call = KeyCall;
    type Error = OrgError;

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: KeyCall) -> Result<Vec<Event>, OrgError> {
        match call {
            KeyCall::RotateAccount { old, new_key, label, retire_at_height } => {
                let (acct, org_id) = own_admin(state, ctx, &old)?;
                if label.chars().count() > 64 {
                    return Err(OrgError::Invalid { field: "label".into(), reason: "at most 64 characters".into() });
                }
                if let Some(o) = org::load_org(state, &org_id)? {
                    if o.public_key == acct.public_key {
                        return Err(OrgError::Invalid {
                            field: "old".into(),
                            reason: "the organisation key is rotated through governance (RotateOrgKey)".into(),
                        });
                    }
                }
                org::add_account(state, &org_id, new_key, label, acct.admin)?;
                retire(state, &old, &new_key.address(), retire_at_height, ctx.height)?;
                Ok(vec![kv::event(
                    MODULE,
                    "AccountKeyRotated",
                    &[("org", &org_id), ("account", &old.to_hex()), ("account", &new_key.address().to_hex())],
                    &serde_json::json!({ "org": org_id, "old": old, "new": new_key.address(), "retire_at_height": retire_at_height }),
                )])
            }
            KeyCall::SetExpiry { address, expires_at_ms } => {
                let (_, org_id) = own_admin(state, ctx, &address)?;
                let mut meta = load_meta(state, &address)?;
                meta.expires_at_ms = expires_at_ms;
                save_meta(state, &address, &meta)?;
                Ok(vec![kv::event(
                    MODULE,
                    "KeyExpirySet",
                    &[("org", &org_id), ("account", &address.to_hex())],
                    &serde_json::json!({ "org": org_id, "account": address, "expires_at_ms": expires_at_ms }),
                )])
            }
        }
    }
}
