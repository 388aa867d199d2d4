//! Open connections and the certificate each was made with, so that a revocation learnt while they are
//! open closes them at once instead of at their next handshake (node-to-node links, the MQTT front).
//!
//! An endpoint [registers](LiveConnections::register) each connection after its handshake and wraps the
//! stream so that every read and write first asks [`RevocationFlag::check`]; when its CRLs change it
//! [sweeps](LiveConnections::sweep), which sets the flag of every connection whose certificate is now
//! revoked and wakes its reader, so the connection fails even if no traffic arrives.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;

use atomic_waker::AtomicWaker;
use scf_ca::RevocationCheck;

/// Set when a connection's certificate is revoked.
#[derive(Default)]
pub struct RevocationFlag {
    revoked: AtomicBool,
    reader: AtomicWaker,
}

impl RevocationFlag {
    /// Call at the start of every poll of a read: registers the reader's waker (first, so a revocation
    /// between the check and the read still wakes it), then fails once the certificate is revoked.
    pub fn check_read(&self, waker: &Waker) -> io::Result<()> {
        self.reader.register(waker);
        self.check()
    }

    /// Call at the start of every write and flush.
    pub fn check(&self) -> io::Result<()> {
        if self.revoked.load(Ordering::SeqCst) {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "peer certificate revoked"))
        } else {
            Ok(())
        }
    }

    /// Returns false if it was already set.
    fn set(&self) -> bool {
        let first = !self.revoked.swap(true, Ordering::SeqCst);
        self.reader.wake();
        first
    }
}

/// The connections open with a certificate: (flag, issuer subject, serial).
#[derive(Default)]
pub struct LiveConnections(Mutex<Vec<(Weak<RevocationFlag>, String, u64)>>);

impl LiveConnections {
    /// A connection made with the certificate `serial` of `issuer`; it is forgotten once its flag is dropped.
    pub fn register(&self, issuer: String, serial: u64) -> Arc<RevocationFlag> {
        let flag = Arc::new(RevocationFlag::default());
        let mut live = self.0.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|(w, _, _)| w.strong_count() > 0);
        live.push((Arc::downgrade(&flag), issuer, serial));
        flag
    }

    /// Flag the connections whose certificate `check` now revokes (`what` names the endpoint in logs);
    /// returns how many were newly flagged.
    pub fn sweep(&self, what: &str, check: &dyn RevocationCheck) -> usize {
        self.sweep_with(what, |issuer, serial| check.revoked(issuer, serial).map(|r| r.to_string()))
    }

    /// Flag the connections for which `refuse(issuer, serial)` gives a reason (a revocation, an issuer no
    /// longer trusted); returns how many were newly flagged.
    pub fn sweep_with(&self, what: &str, refuse: impl Fn(&str, u64) -> Option<String>) -> usize {
        let mut live = self.0.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|(w, _, _)| w.strong_count() > 0);
        let mut cut = 0;
        for (w, issuer, serial) in live.iter() {
            if let (Some(flag), Some(reason)) = (w.upgrade(), refuse(issuer, *serial)) {
                if flag.set() {
                    tracing::warn!(%issuer, serial, %reason, "{what}: closing a connection whose certificate is no longer accepted");
                    cut += 1;
                }
            }
        }
        cut
    }
}
