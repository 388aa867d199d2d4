//! The client API over HTTPS with mutual 国密 TLS (RFC 8998: TLS 1.3, TLS_SM4_GCM_SM3, curveSM2,
//! sm2sig_sm3), for callers on other machines: another member's services, a remote ingestion instance,
//! an API that runs apart from its node.
//!
//! - **Authentication is the client certificate.** The handshake demands one, issued for client
//!   authentication by an organisation CA in `[api] tls_trust` (`scf ca issue --kind client|node|user`),
//!   valid now and not revoked. `[api] allowed_orgs` narrows the organisations further. A caller without
//!   a certificate, with one from another CA, or with an expired or revoked one never gets an HTTP answer.
//! - **Revocation without a restart.** `[api] tls_crls` are read at start (a CRL that does not verify
//!   stops the node) and re-read when they change; the handshake consults the current set, and so does
//!   every request on an open connection, so a revoked caller is cut off at its next request.
//! - The endpoints are those of [`crate::api`]; each request carries the [`Caller`] as an extension.
//!
//! The plain listener (`[api] listen`) stays for tools on the node's own machine and must be loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use scf_ca::{RevocationCheck, RevokedSerials, SharedRevocations, TrustStore};
use scf_gmtls::{ClientAuth, CurrentIdentity, Identity, Trust};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::ApiSection;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("{field}: {path}: {reason}")]
    File { field: &'static str, path: PathBuf, reason: String },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Who called: the organisation whose CA issued the client certificate, and the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub organization: String,
    pub subject: String,
    pub issuer: String,
    pub serial: u64,
}

pub(crate) fn read(field: &'static str, path: &Path) -> Result<String, HttpsError> {
    std::fs::read_to_string(path).map_err(|e| HttpsError::File {
        field,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn required<'a>(field: &'static str, v: &'a Option<PathBuf>) -> Result<&'a Path, HttpsError> {
    v.as_deref().ok_or(HttpsError::Invalid { field, reason: "required with api.https_listen".into() })
}

/// Read every CRL file (`field` names the setting) and keep those of trusted CAs; any file that does not
/// verify is an error.
pub(crate) fn read_crls(
    field: &'static str,
    paths: &[PathBuf],
    store: &TrustStore,
) -> Result<RevokedSerials, HttpsError> {
    scf_gmtls::crl_files::read_crls(field, paths, store).map_err(|e| HttpsError::File {
        field: e.field,
        path: e.path,
        reason: e.reason,
    })
}

/// The HTTPS listener's certificate, trust and revocations, read from `[api]`.
pub struct HttpsApi {
    config: Arc<scf_gmtls::rustls::ServerConfig>,
    trust: Trust,
    /// From the CRL files.
    revocations: Arc<SharedRevocations>,
    /// Recorded on chain (empty unless `tls_trust_on_chain`).
    chain_revocations: Arc<SharedRevocations>,
    crl_files: Vec<PathBuf>,
    allowed_orgs: Vec<String>,
    current: Arc<CurrentIdentity>,
    identity_files: (PathBuf, PathBuf),
    /// None when the CAs come from chain.
    trust_file: Option<PathBuf>,
}

/// The part of [`HttpsApi`] that follows the chain's CAs and revocations while it serves.
#[derive(Clone)]
pub struct HttpsChainTrust {
    trust: Trust,
    chain_revocations: Arc<SharedRevocations>,
}

impl crate::chain_trust::FollowsChain for HttpsChainTrust {
    fn apply_chain_trust(&self, t: &crate::chain_trust::ChainTrust) -> usize {
        crate::chain_trust::apply_to(&self.trust, &self.chain_revocations, t);
        // Open connections are checked at each request (see `connection`).
        0
    }
}

impl HttpsApi {
    /// Read the files named in `[api]` and check that they fit together: the key is the certificate's,
    /// the certificate is one the trusted CAs vouch for as a TLS server, every CRL verifies.
    /// With `tls_trust_on_chain`, the trusted CAs and on-chain revocations are `chain`'s.
    pub fn from_config(api: &ApiSection, chain: Option<&crate::chain_trust::ChainTrust>) -> Result<Self, HttpsError> {
        let cert_path = required("api.tls_cert", &api.tls_cert)?;
        let key_path = required("api.tls_key", &api.tls_key)?;
        let identity = Identity::from_pem(&read("api.tls_cert", cert_path)?, &read("api.tls_key", key_path)?)
            .map_err(|e| HttpsError::Invalid { field: "api.tls_cert", reason: e.to_string() })?;
        let (store, on_chain) = match (api.tls_trust_on_chain, chain) {
            (true, Some(chain)) if !chain.store.anchors().is_empty() => (chain.store.clone(), chain.revoked.clone()),
            (true, _) => {
                return Err(HttpsError::Invalid {
                    field: "api.tls_trust_on_chain",
                    reason: "no organisation CA is recorded on chain; record them first or give api.tls_trust".into(),
                })
            }
            (false, _) => {
                let trust_path = required("api.tls_trust", &api.tls_trust)?;
                let store = TrustStore::from_pem(&read("api.tls_trust", trust_path)?).map_err(|e| {
                    HttpsError::File { field: "api.tls_trust", path: trust_path.to_path_buf(), reason: e.to_string() }
                })?;
                (store, RevokedSerials::new())
            }
        };
        let known: Vec<String> = store.anchors().iter().map(|a| a.organization()).collect();
        if let Some(o) = api.allowed_orgs.iter().find(|o| !known.contains(o)) {
            return Err(HttpsError::Invalid {
                field: "api.allowed_orgs",
                reason: format!("{o} has no CA certificate in api.tls_trust (it has: {})", known.join(", ")),
            });
        }
        let revocations = Arc::new(SharedRevocations::new(read_crls("api.tls_crls", &api.tls_crls, &store)?));
        let chain_revocations = Arc::new(SharedRevocations::new(on_chain));
        let any: Arc<dyn RevocationCheck> =
            Arc::new(scf_ca::AnyRevocation(vec![revocations.clone(), chain_revocations.clone()]));
        let trust = Trust::new(store, any);
        let current = CurrentIdentity::new(identity);
        let config = scf_gmtls::server_config_rotating(current.clone(), trust.clone(), ClientAuth::Required)
            .map_err(|e| HttpsError::Invalid { field: "api.tls_cert", reason: e.to_string() })?;
        Ok(HttpsApi {
            config,
            trust,
            revocations,
            chain_revocations,
            crl_files: api.tls_crls.clone(),
            allowed_orgs: api.allowed_orgs.clone(),
            current,
            identity_files: (cert_path.to_path_buf(), key_path.to_path_buf()),
            trust_file: api.tls_trust.clone().filter(|_| !api.tls_trust_on_chain),
        })
    }

    /// What follows the chain's records ([`crate::chain_trust::follow`]).
    pub fn chain_trust(&self) -> HttpsChainTrust {
        HttpsChainTrust { trust: self.trust.clone(), chain_revocations: self.chain_revocations.clone() }
    }

    /// The certificate new handshakes present.
    pub fn current(&self) -> &Arc<CurrentIdentity> {
        &self.current
    }

    /// Serve `router` on `listener`, and watch the CRL files; both stop when the returned tasks are aborted.
    pub fn spawn(self, listener: tokio::net::TcpListener, router: Router) -> Vec<JoinHandle<()>> {
        let watcher = tokio::spawn(watch_crls(
            "client API (HTTPS)",
            "api.tls_crls",
            self.crl_files.clone(),
            self.trust.clone(),
            self.revocations.clone(),
            || {},
        ));
        let trust_watcher = self.trust_file.clone().map(|file| {
            tokio::spawn(scf_gmtls::crl_files::watch_trust(
                "client API (HTTPS)",
                "api.tls_trust",
                file,
                self.trust.clone(),
            ))
        });
        let rotation = tokio::spawn(scf_gmtls::rotation::watch_identity(
            "node-api",
            self.identity_files.0.clone(),
            self.identity_files.1.clone(),
            self.current.clone(),
            self.trust.clone(),
            |_| Ok(()),
        ));
        let server = tokio::spawn(self.serve(listener, router));
        [server, watcher, rotation].into_iter().chain(trust_watcher).collect()
    }

    async fn serve(self, listener: tokio::net::TcpListener, router: Router) {
        let acceptor = scf_gmtls::tokio_rustls::TlsAcceptor::from(self.config.clone());
        let this = Arc::new(self);
        loop {
            let (tcp, remote) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!("client API (HTTPS): accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, router, this) = (acceptor.clone(), router.clone(), this.clone());
            tokio::spawn(async move { this.connection(acceptor, tcp, remote, router).await });
        }
    }

    async fn connection(
        self: Arc<Self>,
        acceptor: scf_gmtls::tokio_rustls::TlsAcceptor,
        tcp: tokio::net::TcpStream,
        remote: SocketAddr,
        router: Router,
    ) {
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                info!(%remote, "client API (HTTPS): handshake refused: {e}");
                return;
            }
            Err(_) => {
                debug!(%remote, "client API (HTTPS): handshake timed out");
                return;
            }
        };
        // The verifier accepted the certificate; this names who it speaks for.
        let Some(verified) = scf_gmtls::peer_identity(&self.trust, tls.get_ref().1) else {
            info!(%remote, "client API (HTTPS): no client certificate after the handshake");
            return;
        };
        let caller = Caller {
            organization: verified.organization,
            subject: verified.certificate.subject(),
            issuer: verified.issuer,
            serial: verified.certificate.serial(),
        };
        if !self.allowed_orgs.is_empty() && !self.allowed_orgs.contains(&caller.organization) {
            info!(%remote, org = %caller.organization, "client API (HTTPS): organisation not in api.allowed_orgs");
            return;
        }
        debug!(%remote, org = %caller.organization, subject = %caller.subject, "client API (HTTPS): connected");
        // Checked at every request: a revocation (CRL or chain) or the removal of the caller's CA on
        // chain refuses the next request on a connection opened before.
        let trust = self.trust.clone();
        let checked = caller.clone();
        let app = router
            .layer(axum::middleware::from_fn(move |req, next: axum::middleware::Next| {
                let revoked = trust.refusal(&checked.issuer, checked.serial);
                async move {
                    match revoked {
                        None => next.run(req).await,
                        Some(reason) => refused(reason),
                    }
                }
            }))
            .layer(axum::Extension(caller));
        let service = hyper_util::service::TowerToHyperService::new(app);
        let io = hyper_util::rt::TokioIo::new(tls);
        if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
            debug!(%remote, "client API (HTTPS): connection ended: {e}");
        }
    }
}

/// A request on a connection whose certificate was revoked since it connected.
fn refused(reason: String) -> Response {
    let body = scf_client::wire::ApiErrorBody {
        kind: "certificate_revoked".into(),
        message: format!("client certificate revoked ({reason})"),
        retryable: false,
    };
    let mut resp = (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": body }))).into_response();
    resp.headers_mut().insert("connection", axum::http::HeaderValue::from_static("close"));
    resp
}

pub(crate) use scf_gmtls::crl_files::watch_crls;
