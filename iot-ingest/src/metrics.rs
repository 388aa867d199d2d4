//! Counters of the ingestion service: every rejection is counted by reason, both in this instance's
//! [`Stats`] (for tests and the benchmark) and in the process-wide Prometheus recorder
//! (`scf_iot_rejected_total{reason="..."}`, `scf_iot_accepted_total`, `scf_iot_batches_anchored_total`,
//! `scf_iot_alerts_raised_total`, `scf_iot_alerts_refused_total`, `scf_iot_other_partition_total`, and the gauge `scf_iot_alerts_pending`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Why a message was refused. The label values are stable (dashboards and alerts use them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Not a valid COSE_Sign1 / CBOR reading (see the wire format).
    Malformed,
    /// The topic's device id differs from the signed device id, or the topic is not a telemetry topic.
    TopicMismatch,
    /// No device with this id on chain.
    UnknownDevice,
    /// The device is revoked.
    Revoked,
    /// The topic's organisation is not the device's owner.
    WrongOrg,
    /// The signature does not verify with the registered key.
    BadSignature,
    /// This seq was already accepted (attacker replay or broker redelivery of a stored reading).
    Replay,
    /// The seq is below the replay window.
    SeqTooOld,
    /// The device time is older than the allowed skew.
    Stale,
    /// The device time is ahead of the allowed skew.
    Future,
}

impl RejectReason {
    pub const ALL: [RejectReason; 10] = [
        RejectReason::Malformed,
        RejectReason::TopicMismatch,
        RejectReason::UnknownDevice,
        RejectReason::Revoked,
        RejectReason::WrongOrg,
        RejectReason::BadSignature,
        RejectReason::Replay,
        RejectReason::SeqTooOld,
        RejectReason::Stale,
        RejectReason::Future,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::TopicMismatch => "topic_mismatch",
            RejectReason::UnknownDevice => "unknown_device",
            RejectReason::Revoked => "revoked",
            RejectReason::WrongOrg => "wrong_org",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::Replay => "replay",
            RejectReason::SeqTooOld => "seq_too_old",
            RejectReason::Stale => "stale",
            RejectReason::Future => "future",
        }
    }
    fn slot(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// One service instance's counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    rejected: [AtomicU64; 10],
    pub batches_anchored: AtomicU64,
    pub alerts_raised: AtomicU64,
    /// Alerts the chain refused for a reason other than "already open" (each is logged as an error).
    pub alerts_refused: AtomicU64,
    /// Messages of devices another instance owns (acknowledged, not stored).
    pub other_partition: AtomicU64,
    /// Alerts in the outbox, not yet settled by the chain (as last counted).
    pub alerts_pending: AtomicU64,
}

impl Stats {
    pub fn reject(&self, reason: RejectReason) {
        self.rejected[reason.slot()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("scf_iot_rejected_total", "reason" => reason.as_str()).increment(1);
    }
    pub fn accept(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("scf_iot_accepted_total").increment(n);
    }
    pub fn anchored(&self) {
        self.batches_anchored.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("scf_iot_batches_anchored_total").increment(1);
    }
    pub fn alert(&self) {
        self.alerts_raised.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("scf_iot_alerts_raised_total").increment(1);
    }
    pub fn alert_refused(&self) {
        self.alerts_refused.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("scf_iot_alerts_refused_total").increment(1);
    }
    pub fn set_alerts_pending(&self, n: u64) {
        self.alerts_pending.store(n, Ordering::Relaxed);
        metrics::gauge!("scf_iot_alerts_pending").set(n as f64);
    }
    pub fn other_partition(&self) {
        self.other_partition.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("scf_iot_other_partition_total").increment(1);
    }
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.slot()].load(Ordering::Relaxed)
    }
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|a| a.load(Ordering::Relaxed)).sum()
    }
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
    /// `{reason: count}` for every reason with a non-zero count.
    pub fn rejections(&self) -> Vec<(&'static str, u64)> {
        RejectReason::ALL.iter().map(|r| (r.as_str(), self.rejected(*r))).filter(|(_, n)| *n > 0).collect()
    }
}

static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Install the process-wide Prometheus recorder once (later calls return the same handle). With
/// `listen`, `/metrics` is served there (needs a Tokio runtime).
pub fn init_prometheus(listen: Option<SocketAddr>) -> Result<PrometheusHandle, String> {
    let mut slot = HANDLE.lock().map_err(|_| "metrics: lock poisoned".to_string())?;
    if let Some(h) = slot.as_ref() {
        return Ok(h.clone());
    }
    let handle = match listen {
        None => PrometheusBuilder::new().install_recorder().map_err(|e| e.to_string())?,
        Some(addr) => {
            let (recorder, exporter) =
                PrometheusBuilder::new().with_http_listener(addr).build().map_err(|e| e.to_string())?;
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
            tokio::spawn(exporter);
            handle
        }
    };
    *slot = Some(handle.clone());
    Ok(handle)
}
