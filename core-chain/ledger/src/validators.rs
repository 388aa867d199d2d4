//! Validator-set changes scheduled at a height: the seam between governance (which decides) and
//! consensus (which must know, for every height, who validates it).
//!
//! Governance never edits the current set in place. It appends a [`ScheduledValidatorSet`] — the whole
//! new set and the first height it validates — under [`PENDING_VALIDATORS_KEY`]. At the start of that
//! block the executor promotes it into [`VALIDATORS_KEY`] ([`promote_due`]). Consensus asks
//! [`validator_set_at`] for the set of any height at or after the state it reads, so a node learns the
//! next set from committed state before the height starts, without a restart.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::codec::encode;
use crate::genesis::{Validator, VALIDATORS_KEY};
use crate::state::{StateError, StateRead, StateWrite};

/// State key of the scheduled validator sets (borsh `Vec<ScheduledValidatorSet>`, ordered by height).
pub const PENDING_VALIDATORS_KEY: &[u8] = b"sys/validators/pending";

/// A complete validator set that validates blocks from `height` on.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ScheduledValidatorSet {
    /// First block height this set validates.
    pub height: u64,
    pub validators: Vec<Validator>,
    /// Why (e.g. `governance proposal 7: AddValidator v4`), for operators and the explorer.
    pub reason: String,
}

/// The validator set in effect now (as of the state read).
pub fn current_set(state: &dyn StateRead) -> Result<Vec<Validator>, StateError> {
    Ok(match state.get(VALIDATORS_KEY)? {
        Some(b) => borsh::from_slice(&b).map_err(|e| StateError(format!("sys/validators: {e}")))?,
        None => Vec::new(),
    })
}

/// The scheduled changes not yet in effect, ordered by height.
pub fn pending_sets(state: &dyn StateRead) -> Result<Vec<ScheduledValidatorSet>, StateError> {
    Ok(match state.get(PENDING_VALIDATORS_KEY)? {
        Some(b) => borsh::from_slice(&b).map_err(|e| StateError(format!("sys/validators/pending: {e}")))?,
        None => Vec::new(),
    })
}

/// The validator set that validates block `height`, read from state committed at any height before
/// it. **This is the function consensus calls** to learn the set for the next height: the set stored
/// now, replaced by the latest scheduled set whose activation height is `<= height`.
pub fn validator_set_at(state: &dyn StateRead, height: u64) -> Result<Vec<Validator>, StateError> {
    let scheduled = pending_sets(state)?.into_iter().rev().find(|s| s.height <= height);
    match scheduled {
        Some(s) => Ok(s.validators),
        None => current_set(state),
    }
}

/// The last set scheduled (or the current one): what a new change must build on.
pub fn latest_scheduled_set(state: &dyn StateRead) -> Result<Vec<Validator>, StateError> {
    match pending_sets(state)?.pop() {
        Some(s) => Ok(s.validators),
        None => current_set(state),
    }
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("validators: a validator set cannot be empty")]
    Empty,
    #[error("validators[{index}].power: must be positive")]
    ZeroPower { index: usize },
    #[error("validators[{index}]: duplicate {what}")]
    Duplicate { index: usize, what: &'static str },
    #[error("height: {height} is not after the last scheduled change at {last}")]
    NotAfterLast { height: u64, last: u64 },
    #[error(transparent)]
    State(#[from] StateError),
}

/// Append a set that validates from `height` on. Heights must increase; the set must be non-empty,
/// with positive powers and unique names and keys.
pub fn schedule(
    state: &mut dyn StateWrite,
    height: u64,
    validators: Vec<Validator>,
    reason: String,
) -> Result<(), ScheduleError> {
    if validators.is_empty() {
        return Err(ScheduleError::Empty);
    }
    for (index, v) in validators.iter().enumerate() {
        if v.power == 0 {
            return Err(ScheduleError::ZeroPower { index });
        }
        if validators[..index].iter().any(|o| o.public_key == v.public_key) {
            return Err(ScheduleError::Duplicate { index, what: "public_key" });
        }
        if validators[..index].iter().any(|o| o.name == v.name) {
            return Err(ScheduleError::Duplicate { index, what: "name" });
        }
    }
    let mut pending = pending_sets(state)?;
    if let Some(last) = pending.last() {
        if height <= last.height {
            return Err(ScheduleError::NotAfterLast { height, last: last.height });
        }
    }
    pending.push(ScheduledValidatorSet { height, validators, reason });
    state.set(PENDING_VALIDATORS_KEY, encode(&pending));
    Ok(())
}

/// Called by the executor at the start of block `height`: every scheduled set due at or before it
/// becomes the current set. Writes nothing when nothing is due, so blocks without changes are unaffected.
pub fn promote_due(state: &mut dyn StateWrite, height: u64) -> Result<bool, StateError> {
    let pending = pending_sets(state)?;
    if pending.first().is_none_or(|s| s.height > height) {
        return Ok(false);
    }
    let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|s| s.height <= height);
    if let Some(last) = due.into_iter().last() {
        state.set(VALIDATORS_KEY, encode(&last.validators));
    }
    if later.is_empty() {
        state.delete(PENDING_VALIDATORS_KEY);
    } else {
        state.set(PENDING_VALIDATORS_KEY, encode(&later));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyPair;
    use crate::state::MemState;

    fn v(name: &str) -> Validator {
        Validator { name: name.into(), public_key: *KeyPair::from_seed(name).public(), power: 1, peer_id: None }
    }

    #[test]
    fn scheduled_set_takes_effect_at_its_height() {
        let mut s = MemState::default();
        s.set(VALIDATORS_KEY, encode(&vec![v("a"), v("b")]));
        schedule(&mut s, 10, vec![v("a"), v("b"), v("c")], "add c".into()).expect("schedule");
        schedule(&mut s, 20, vec![v("b"), v("c")], "remove a".into()).expect("schedule");
        assert_eq!(validator_set_at(&s, 9).expect("set").len(), 2);
        assert_eq!(validator_set_at(&s, 10).expect("set").len(), 3);
        assert_eq!(validator_set_at(&s, 25).expect("set"), vec![v("b"), v("c")]);
        assert_eq!(
            schedule(&mut s, 20, vec![v("a")], "x".into()),
            Err(ScheduleError::NotAfterLast { height: 20, last: 20 })
        );
        assert!(!promote_due(&mut s, 9).expect("promote"));
        assert!(promote_due(&mut s, 10).expect("promote"));
        assert_eq!(current_set(&s).expect("set").len(), 3);
        assert_eq!(pending_sets(&s).expect("pending").len(), 1);
        assert!(promote_due(&mut s, 30).expect("promote"));
        assert_eq!(current_set(&s).expect("set"), vec![v("b"), v("c")]);
        assert!(s.get(PENDING_VALIDATORS_KEY).expect("get").is_none());
    }

    #[test]
    fn bad_sets_are_refused() {
        let mut s = MemState::default();
        assert_eq!(schedule(&mut s, 5, vec![], "x".into()), Err(ScheduleError::Empty));
        assert_eq!(
            schedule(&mut s, 5, vec![v("a"), v("a")], "x".into()),
            Err(ScheduleError::Duplicate { index: 1, what: "public_key" })
        );
        let mut zero = v("z");
        zero.power = 0;
        assert_eq!(schedule(&mut s, 5, vec![zero], "x".into()), Err(ScheduleError::ZeroPower { index: 0 }));
    }
}
