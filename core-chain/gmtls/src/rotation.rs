//! Certificate rotation without a restart, and expiry warnings, for an endpoint's own certificate.
//!
//! [`watch_identity`] re-reads the certificate and key files when they change and, if the pair is
//! consistent and the trusted CAs vouch for it (for every purpose the endpoint uses it for), presents it
//! from the next handshake on ([`CurrentIdentity::replace`]). Open connections keep the old certificate;
//! peers accept both until the operator revokes the old one or it expires — the overlap. A replacement
//! that does not fit (key of another certificate, unknown CA, wrong kind, half-written files) is logged
//! and the current certificate kept.
//!
//! The same task exports `scf_tls_certificate_expiry_seconds{endpoint}` (seconds until the current
//! certificate's notAfter, negative once expired) and logs a warning when it is within
//! [`EXPIRY_WARNING`], at start and then daily.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{CurrentIdentity, Identity};
use crate::crl_files::{file_stamp, CRL_POLL};
use crate::verify::Trust;

/// Warn when the current certificate expires within this window.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often an expiring certificate is logged again.
const WARN_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Seconds from `now` until `identity`'s certificate expires (negative once it has).
pub fn expires_in(identity: &Identity, now: SystemTime) -> i64 {
    let not_after = identity.certificate().not_after();
    match not_after.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Export the expiry gauge and, when due, warn; returns whether it warned.
fn report_expiry(endpoint: &'static str, identity: &Identity) -> bool {
    let left = expires_in(identity, SystemTime::now());
    metrics::gauge!("scf_tls_certificate_expiry_seconds", "endpoint" => endpoint).set(left as f64);
    let warn = left < EXPIRY_WARNING.as_secs() as i64;
    if warn {
        tracing::warn!(
            endpoint,
            subject = %identity.certificate().subject(),
            serial = identity.certificate().serial(),
            days_left = left / 86_400,
            "TLS certificate expires soon: issue a new one and replace the files (no restart needed)"
        );
    }
    warn
}

/// Watch `cert` and `key` (PEM files) for the endpoint named `endpoint` (for logs and the metric);
/// `check` adds the endpoint's own rule (e.g. the peer id a node certificate must name). Runs until the
/// task is aborted.
pub async fn watch_identity(
    endpoint: &'static str,
    cert: PathBuf,
    key: PathBuf,
    current: Arc<CurrentIdentity>,
    trust: Trust,
    check: impl Fn(&Identity) -> Result<(), String> + Send + 'static,
) {
    let stamps = || (file_stamp(&cert), file_stamp(&key));
    let mut seen = stamps();
    let mut warned_at = report_expiry(endpoint, &current.get()).then(std::time::Instant::now);
    loop {
        tokio::time::sleep(CRL_POLL).await;
        let now = stamps();
        if now != seen {
            seen = now;
            let next = std::fs::read_to_string(&cert)
                .map_err(|e| format!("{}: {e}", cert.display()))
                .and_then(|c| {
                    let k = std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
                    Identity::from_pem(&c, &k).map_err(|e| e.to_string())
                })
                .and_then(|id| check(&id).map(|()| id))
                .and_then(|id| current.replace(id.clone(), &trust).map(|old| (old, id)).map_err(|e| e.to_string()));
            match next {
                Ok((old, new)) if old.certificate().serial() != new.certificate().serial() => {
                    tracing::info!(
                        endpoint,
                        old_serial = old.certificate().serial(),
                        new_serial = new.certificate().serial(),
                        subject = %new.certificate().subject(),
                        "TLS certificate replaced; new handshakes present the new one"
                    );
                    warned_at = report_expiry(endpoint, &new).then(std::time::Instant::now);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(endpoint, "TLS certificate files changed but not used: {e}; keeping the current one")
                }
            }
        }
        let due = warned_at.is_none_or(|t| t.elapsed() >= WARN_EVERY);
        let current = current.get();
        if due {
            if report_expiry(endpoint, &current) {
                warned_at = Some(std::time::Instant::now());
            }
        } else {
            let left = expires_in(&current, SystemTime::now());
            metrics::gauge!("scf_tls_certificate_expiry_seconds", "endpoint" => endpoint).set(left as f64);
        }
    }
}
