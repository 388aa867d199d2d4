//! Per-client-address token buckets for the public (unauthenticated) queries — the consumer page
//! (`lotPage`, `trace`) is reachable by anyone who scans a QR code, so one address must not be able to
//! monopolise it. The bucket holds `burst` tokens and refills at `per_minute` tokens a minute; a query
//! that finds it empty fails with `RATE_LIMITED` and the time until the next token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::{ApiError, ApiResult};

/// Buckets kept before full (idle) ones are dropped, bounding memory under many addresses.
const MAX_TRACKED: usize = 10_000;

/// The address a request came from, when the server was started with connection info
/// (`into_make_service_with_connect_info::<SocketAddr>()`, as [`crate::start`] does).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by client address.
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns limiting off.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter { per_minute, burst: burst.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one token for `addr`. Requests without a known address (none should come: [`crate::start`]
    /// serves with connection info, and the WebSocket path passes its connection's address) share one
    /// bucket, so a missing address never means no limit.
    pub fn check(&self, addr: Option<IpAddr>) -> ApiResult<()> {
        let ip = addr.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let rate_per_ms = f64::from(self.per_minute) / 60_000.0;
        let burst = f64::from(self.burst);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_millis() as f64 * rate_per_ms < burst);
        }
        let b = map.entry(ip).or_insert(Bucket { tokens: burst, at: now });
        let elapsed_ms = now.duration_since(b.at).as_secs_f64() * 1000.0;
        b.tokens = (b.tokens + elapsed_ms * rate_per_ms).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let retry_after_ms = ((1.0 - b.tokens) / rate_per_ms).ceil() as u64;
            Err(ApiError::RateLimited { retry_after_ms })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_per_address() {
        let l = RateLimiter::new(60, 3);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        match l.check(a) {
            Err(ApiError::RateLimited { retry_after_ms }) => assert!(retry_after_ms > 0 && retry_after_ms <= 1000),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        assert!(l.check(b).is_ok(), "another address has its own bucket");
        assert!(l.check(None).is_ok(), "requests without an address share one bucket");
        for _ in 0..2 {
            assert!(l.check(None).is_ok());
        }
        assert!(l.check(None).is_err(), "…which is limited like any other");
        assert!(RateLimiter::new(0, 1).check(a).is_ok(), "0 per minute = off");
    }
}
