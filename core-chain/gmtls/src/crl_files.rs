//! The trust bundle and CRL files of a TLS endpoint, read at start and re-read while it runs, so a new
//! organisation CA or a revocation takes effect
//! without a restart (node client API, node-to-node links, the MQTT front).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use scf_ca::{RevokedSerials, SharedRevocations, TrustStore, VerifiedCrl};

use crate::verify::Trust;

/// How often the files are checked for changes.
pub const CRL_POLL: Duration = Duration::from_secs(1);

/// A CRL file that cannot be read or does not verify against the trusted CAs.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {path}: {reason}")]
pub struct CrlFileError {
    pub field: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

/// Read every CRL file (`field` names the setting, for errors) and keep those of trusted CAs; any file
/// that cannot be read or does not verify is an error.
pub fn read_crls(field: &'static str, paths: &[PathBuf], store: &TrustStore) -> Result<RevokedSerials, CrlFileError> {
    let mut revoked = RevokedSerials::new();
    for path in paths {
        let err = |reason: String| CrlFileError { field, path: path.clone(), reason };
        let pem = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let crl = VerifiedCrl::from_pem(&pem, store, SystemTime::now()).map_err(|e| err(e.to_string()))?;
        revoked.apply_crl(&crl);
    }
    Ok(revoked)
}

/// A file's modification time and length, to notice a change.
pub fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len())))
}

/// Re-read the CRL files whenever one changes (checked against the CAs `trust` holds then), replace
/// `revocations`, then call `changed`. A file that no longer verifies is logged and the revocations known
/// before are kept (a broken CRL never un-revokes anything). `what` names the endpoint in logs. Runs
/// until the task is aborted.
pub async fn watch_crls(
    what: &'static str,
    field: &'static str,
    files: Vec<PathBuf>,
    trust: Trust,
    revocations: Arc<SharedRevocations>,
    changed: impl Fn() + Send + 'static,
) {
    if files.is_empty() {
        return;
    }
    let stamps = |files: &[PathBuf]| files.iter().map(|f| (f.clone(), file_stamp(f))).collect::<BTreeMap<_, _>>();
    let mut seen = stamps(&files);
    loop {
        tokio::time::sleep(CRL_POLL).await;
        let now = stamps(&files);
        if now == seen {
            continue;
        }
        match read_crls(field, &files, &trust.store()) {
            Ok(revoked) => {
                tracing::info!(revoked = revoked.len(), "{what}: CRLs re-read");
                revocations.update(|r| *r = revoked);
                changed();
            }
            Err(e) => tracing::warn!("{what}: {e}; keeping the revocations read before"),
        }
        seen = now;
    }
}

/// Re-read the trust bundle `file` (PEM CA certificates; `field` names the setting) whenever it changes
/// and trust exactly those CAs from the next handshake on: a member organisation admitted later is
/// trusted without a restart, and one removed is refused at its next handshake. A file that does not
/// parse, or holds no CA, is logged and the CAs trusted before are kept. Runs until the task is aborted.
pub async fn watch_trust(what: &'static str, field: &'static str, file: PathBuf, trust: Trust) {
    let mut seen = file_stamp(&file);
    loop {
        tokio::time::sleep(CRL_POLL).await;
        let now = file_stamp(&file);
        if now == seen {
            continue;
        }
        seen = now;
        let read = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|pem| TrustStore::from_pem(&pem).map_err(|e| e.to_string()))
            .and_then(|s| if s.anchors().is_empty() { Err("no CA certificate in it".to_string()) } else { Ok(s) });
        match read {
            Ok(store) => {
                let orgs: Vec<String> = store.anchors().iter().map(|a| a.organization()).collect();
                tracing::info!(organisations = %orgs.join(", "), "{what}: {field} re-read; trusting these CAs from the next handshake");
                trust.replace_store(store);
            }
            Err(e) => tracing::warn!("{what}: {field}: {}: {e}; keeping the CAs trusted before", file.display()),
        }
    }
}
