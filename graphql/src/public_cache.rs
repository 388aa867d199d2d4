//! Answers to anonymous queries, kept for a moment. Everything an anonymous caller can read is public
//! (the lot page a QR code opens, 查验, validators, chain status), identical for every caller and
//! changed only by a new block — or, for cold-chain readings, within seconds. So an answer without
//! errors is kept, serialised, for the same tip height and at most [`TTL`], and served to the next
//! identical request after that request has passed the same per-address rate limit as a fresh one.
//! Mutations, subscriptions and signed-in requests are never cached.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::ratelimit::RateLimiter;

/// How long an answer is served at the same tip.
pub const TTL: Duration = Duration::from_secs(1);
/// Most answers kept.
const MAX_ENTRIES: usize = 512;
/// Longest cache key (query text and variables); longer requests are simply executed.
const MAX_KEY: usize = 16 * 1024;

pub struct PublicAnswers {
    limiter: Arc<RateLimiter>,
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    height: u64,
    stored: Instant,
    body: Bytes,
}

impl PublicAnswers {
    /// `limiter` must be the one the schema's public resolvers use, so a cached answer costs the
    /// caller what a fresh one does.
    pub fn new(limiter: Arc<RateLimiter>) -> PublicAnswers {
        PublicAnswers { limiter, entries: Mutex::new(HashMap::new()) }
    }

    /// The cache key of an anonymous request, or `None` if it must not be cached.
    pub fn key(req: &async_graphql::Request) -> Option<String> {
        if !req.uploads.is_empty() || req.query.contains("mutation") || req.query.contains("subscription") {
            return None;
        }
        let vars = serde_json::to_string(&req.variables).ok()?;
        let op = req.operation_name.as_deref().unwrap_or("");
        let key = format!("{op}\u{0}{vars}\u{0}{}", req.query);
        (key.len() <= MAX_KEY).then_some(key)
    }

    /// A kept answer for `key` at `height`, if the caller's address may make a public request now.
    pub fn get(&self, key: &str, height: u64, addr: Option<IpAddr>) -> Option<Bytes> {
        let body = {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.get(key)?;
            if e.height != height || e.stored.elapsed() >= TTL {
                return None;
            }
            e.body.clone()
        };
        // Over the limit: let the request run, so the caller gets the resolver's RATE_LIMITED error.
        self.limiter.check(addr).ok().map(|()| body)
    }

    pub fn put(&self, key: String, height: u64, body: Bytes) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.stored.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, Entry { height, stored: Instant::now(), body });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identical_anonymous_queries_at_the_same_tip_within_the_ttl_are_served_and_still_rate_limited() {
        let q = |s: &str| async_graphql::Request::new(s);
        assert!(PublicAnswers::key(&q("mutation { login(username:\"a\", password:\"b\") { token } }")).is_none());
        assert!(PublicAnswers::key(&q("subscription { newBlocks { height } }")).is_none());
        let a = PublicAnswers::key(&q("{ chainStatus { height } }")).expect("a query is cacheable");
        let b = PublicAnswers::key(
            &q("query($g:String!){ lotPage(gtin:$g, lot:\"L\"){ lot { number } } }")
                .variables(async_graphql::Variables::from_json(serde_json::json!({ "g": "1" }))),
        )
        .expect("key");
        let b2 = PublicAnswers::key(
            &q("query($g:String!){ lotPage(gtin:$g, lot:\"L\"){ lot { number } } }")
                .variables(async_graphql::Variables::from_json(serde_json::json!({ "g": "2" }))),
        )
        .expect("key");
        assert_ne!(b, b2, "variables are part of the key");

        let cache = PublicAnswers::new(Arc::new(RateLimiter::new(60, 2)));
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        cache.put(a.clone(), 7, Bytes::from_static(b"{\"data\":{}}"));
        assert!(cache.get(&a, 8, ip).is_none(), "another tip: not served");
        assert!(cache.get(&b, 7, ip).is_none(), "another request: not served");
        assert!(cache.get(&a, 7, ip).is_some());
        assert!(cache.get(&a, 7, ip).is_some());
        assert!(cache.get(&a, 7, ip).is_none(), "over the burst: the request runs and meets RATE_LIMITED");
        assert!(cache.get(&a, 7, Some(IpAddr::from([10, 0, 0, 2]))).is_some(), "limits are per address");
    }
}
