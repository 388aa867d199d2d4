//! Expiring keys are warned about well before they expire: every member process checks the chain's key registry
//! (`scf_domain::keys::expiring_keys`) against committed block time once a minute and logs each key
//! entering the warning window, each day it gets closer, and when it expires; the gauges
//! `scf_keys_expiring` / `scf_keys_expired` count them (on `/metrics` where the process serves it). The
//! GraphQL API shows the same list (`expiringKeys`). A consortium's network must not go down because a certificate lapsed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use scf_domain::keys::ExpiringKey;
use tokio::task::JoinHandle;
use tracing::{error, warn};

use scf_client::Chain;

/// How far ahead keys are warned about.
pub const WARN_WINDOW_MS: u64 = 30 * DAY_MS;
const DAY_MS: u64 = 86_400_000;
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// What was last logged per key (days left, or `None` once expired), so each change is logged once.
type Logged = BTreeMap<scf_ledger::Address, Option<u64>>;

pub fn spawn(chain: Arc<dyn Chain>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut logged = Logged::new();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            check(chain.as_ref(), &mut logged).await;
        }
    })
}

/// One check: log keys whose status changed since the last check. Returns how many keys are in the window.
pub async fn check(chain: &dyn Chain, logged: &mut Logged) -> usize {
    let Ok(Some(tip)) = chain.tip().await else { return 0 };
    let Ok(state) = chain.state(Some(tip.height)) else { return 0 };
    let keys = match scf_domain::keys::expiring_keys(state.as_ref(), tip.time_ms, WARN_WINDOW_MS) {
        Ok(k) => k,
        Err(e) => {
            warn!("key expiry check: {e}");
            return 0;
        }
    };
    metrics::gauge!("scf_keys_expiring").set(keys.iter().filter(|k| !k.expired).count() as f64);
    metrics::gauge!("scf_keys_expired").set(keys.iter().filter(|k| k.expired).count() as f64);
    for (k, days) in changes(&keys, logged) {
        match days {
            None => error!(org = %k.org, label = %k.label, address = %k.address, "key has EXPIRED: \
                transactions it signs are refused; rotate it (governance RotateKey / keys RotateAccount)"),
            Some(d) => warn!(org = %k.org, label = %k.label, address = %k.address, days_left = d,
                expires_at_ms = k.expires_at_ms, "key expires soon; rotate it before it does"),
        }
    }
    keys.len()
}

/// The keys whose status (whole days left, or expired) differs from what was last logged, with that
/// status; `logged` becomes the current window.
fn changes<'a>(keys: &'a [ExpiringKey], logged: &mut Logged) -> Vec<(&'a ExpiringKey, Option<u64>)> {
    let mut out = Vec::new();
    let mut seen = Logged::new();
    for k in keys {
        let days = if k.expired { None } else { Some(k.ms_left / DAY_MS) };
        if logged.get(&k.address) != Some(&days) {
            out.push((k, days));
        }
        seen.insert(k.address, days);
    }
    *logged = seen;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8, ms_left: u64, expired: bool) -> ExpiringKey {
        ExpiringKey {
            address: scf_ledger::Address([n; 20]),
            org: "S1".into(),
            label: format!("k{n}"),
            expires_at_ms: 1_000 + ms_left,
            ms_left,
            expired,
        }
    }

    #[test]
    fn each_key_is_logged_on_entering_the_window_each_day_closer_and_on_expiry() {
        let mut logged = Logged::new();
        let days =
            |c: Vec<(&ExpiringKey, Option<u64>)>| c.into_iter().map(|(k, d)| (k.label.clone(), d)).collect::<Vec<_>>();
        let a = [key(1, 20 * DAY_MS + 5, false)];
        assert_eq!(days(changes(&a, &mut logged)), vec![("k1".to_string(), Some(20))]);
        assert!(changes(&a, &mut logged).is_empty(), "same day: logged once");
        let b = [key(1, 19 * DAY_MS, false), key(2, 29 * DAY_MS, false)];
        assert_eq!(days(changes(&b, &mut logged)), vec![("k1".to_string(), Some(19)), ("k2".to_string(), Some(29))]);
        let c = [key(1, 0, true), key(2, 29 * DAY_MS, false)];
        assert_eq!(days(changes(&c, &mut logged)), vec![("k1".to_string(), None)]);
        assert!(changes(&c, &mut logged).is_empty());
        // A rotated (removed) key leaves the window; should it come back it is logged again.
        assert!(changes(&[], &mut logged).is_empty());
        assert_eq!(changes(&c, &mut logged).len(), 2);
    }
}
