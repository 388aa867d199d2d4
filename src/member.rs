//! `scf member --config member.toml`: one consortium member's process, from one config file. The file
//! turns on what this member runs beside its node (validator or observer): the GraphQL API with the web
//! UI, the workflow timers, IoT ingestion (embedded broker or an external one). `scf member init`
//! writes a commented example.
//!
//! Every part reaches the node through the in-process `scf_client::Chain` port; nothing here is seeded:
//! the organisation's first admin is made with `scf admin bootstrap` from the organisation's on-chain
//! key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde::Deserialize;

use scf_node::config::{load_toml, ConfigError};

/// `[api]`: the GraphQL API, the web UI and the GS1 resolver, with the SQL read model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Where to listen, e.g. `127.0.0.1:8080` (put a TLS reverse proxy in front for browsers).
    pub listen: SocketAddr,
    /// `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`; `env:NAME` reads it from the
    /// environment variable NAME (so a password stays out of the file).
    pub database_url: String,
    /// File holding the key that seals custodial user keys (32 hex digits, created mode 0600 if
    /// missing). Back it up: without it no custodial key can be opened.
    pub node_key: PathBuf,
    /// The built web UI (`ui/dist`), served at `/`.
    #[serde(default)]
    pub ui: Option<PathBuf>,
    /// How browsers and scanners reach this API (`https://trace.example.cn`): the GS1 resolver's links.
    /// Unset: from each request's `Host`, over http.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Webhook receivers on private or loopback addresses are allowed (a member's own network). Off:
    /// only public HTTPS receivers, so an admin cannot make the API post into the member's network.
    #[serde(default)]
    pub webhooks_allow_private: bool,
    /// Extra trust anchors (PEM files) for webhook receivers' certificates, besides the public roots.
    #[serde(default)]
    pub webhooks_ca: Vec<PathBuf>,
    /// Schema introspection and the GraphiQL page. Off by default on a member: the UI and the SDKs use
    /// the published schema (`graphql/schema.graphql`), and a stranger learns nothing from the API.
    #[serde(default)]
    pub introspection: bool,
    /// Bearer token `/metrics` demands (`env:NAME` reads it from the environment). Unset: `/metrics`
    /// answers loopback clients only.
    #[serde(default)]
    pub metrics_token: Option<String>,
    /// The organisation's on-chain key (PKCS#8 PEM, the key registered for `org`): the API opens the
    /// invoice lines sealed for this organisation with it. Unset: invoices are still issued sealed, but
    /// the API shows no lines (`linesAccess: NO_KEY`). Keep the file readable by this process only.
    #[serde(default)]
    pub org_key: Option<PathBuf>,
}

/// `[timers]`: the workflow deadlines of every process this member takes part in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimersSection {
    /// An account key of this member's organisation (PKCS#8 PEM) that signs the deadline transactions.
    pub key: PathBuf,
    /// Durable schedule (redb).
    pub schedule: PathBuf,
    /// How often the schedule is checked against the committed tip, in ms.
    #[serde(default = "default_timer_period_ms")]
    pub period_ms: u64,
}

fn default_timer_period_ms() -> u64 {
    1000
}

/// `[ingest]`: readings signed on devices, received over MQTT and anchored by this member.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// The anchoring account's key (PKCS#8 PEM), authorised as an ingestor of this organisation.
    pub key: PathBuf,
    /// Readings store and batches.
    pub data_dir: PathBuf,
    /// `embedded:127.0.0.1:1883` (a broker in this process) or `mqtt://host:1883` / `mqtts://host:8883`.
    pub broker: String,
    /// CA bundle (PEM) for an `mqtts://` broker.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// MQTT credentials of the ingestion service; the password may be `env:NAME`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// MQTT client id; unique per ingestion instance.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Embedded broker only: who may connect (a Mosquitto-format password file, `scf mqtt passwd`
    /// writes it). Required with `embedded:`; re-read when it changes.
    #[serde(default)]
    pub mqtt_passwd: Option<PathBuf>,
    /// Embedded broker only: a Mosquitto-format ACL file. Default: each device (username = device id)
    /// publishes only to its own telemetry topic, and no client subscribes.
    #[serde(default)]
    pub mqtt_acl: Option<PathBuf>,
    /// Embedded broker only: also accept devices over 国密 TLS 1.3 (RFC 8998) here, e.g. `0.0.0.0:8883`.
    /// A device presents a certificate (`scf ca issue --kind device --subject CN=<device id>`) instead of
    /// a password; the ACL applies to the CN.
    #[serde(default)]
    pub mqtt_tls_listen: Option<std::net::SocketAddr>,
    /// The broker's certificate (kind `tls`, naming the host devices dial) and its SM2 key.
    #[serde(default)]
    pub mqtt_tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub mqtt_tls_key: Option<PathBuf>,
    /// CA certificates whose device certificates are accepted (usually this organisation's own).
    #[serde(default)]
    pub mqtt_tls_trust: Option<PathBuf>,
    /// Their CRLs; re-read when they change.
    #[serde(default)]
    pub mqtt_tls_crls: Vec<PathBuf>,
}

/// The whole member config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// This member's organisation id on chain.
    pub org: String,
    /// The node, as `scf node --config` reads it.
    pub node: scf_node::NodeConfig,
    #[serde(default)]
    pub api: Option<ApiSection>,
    #[serde(default)]
    pub timers: Option<TimersSection>,
    #[serde(default)]
    pub ingest: Option<IngestSection>,
}

impl MemberConfig {
    /// Read and check a member config; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<MemberConfig, ConfigError> {
        let mut cfg: MemberConfig = load_toml(path)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.to_string(),
            reason,
        };
        cfg.node.resolve(&base);
        cfg.node.validate().map_err(|(f, r)| invalid(&format!("node.{f}"), r))?;
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if cfg.org.trim().is_empty() {
            return Err(invalid("org", "must name this member's organisation".into()));
        }
        if let Some(a) = cfg.api.as_mut() {
            fix(&mut a.node_key);
            if let Some(k) = a.org_key.as_mut() {
                fix(k);
            }
            if let Some(u) = a.ui.as_mut() {
                fix(u);
            }
            a.webhooks_ca.iter_mut().for_each(fix);
            if let Some(u) = &a.public_url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(invalid("api.public_url", "must be an http:// or https:// URL".into()));
                }
            }
            a.database_url = resolve_env(&a.database_url).map_err(|r| invalid("api.database_url", r))?;
            if let Some(t) = a.metrics_token.as_mut() {
                *t = resolve_env(t).map_err(|r| invalid("api.metrics_token", r))?;
                if t.len() < 16 {
                    return Err(invalid("api.metrics_token", "must be at least 16 characters".into()));
                }
            }
            if let Some(file) = sqlite_file(&a.database_url) {
                // A relative SQLite file is relative to this config, like every other path in it.
                if file.is_relative() {
                    let (_, query) = a.database_url.split_once('?').unwrap_or((&a.database_url, ""));
                    let abs = base.join(&file);
                    a.database_url = if query.is_empty() {
                        format!("sqlite://{}", abs.display())
                    } else {
                        format!("sqlite://{}?{query}", abs.display())
                    };
                }
            } else if !(a.database_url.starts_with("sqlite:") || a.database_url.starts_with("postgres")) {
                return Err(invalid("api.database_url", "must be sqlite://… or postgres://…".into()));
            }
        }
        if let Some(t) = cfg.timers.as_mut() {
            fix(&mut t.key);
            fix(&mut t.schedule);
            if t.period_ms == 0 {
                return Err(invalid("timers.period_ms", "must be positive".into()));
            }
        }
        if let Some(i) = cfg.ingest.as_mut() {
            fix(&mut i.key);
            fix(&mut i.data_dir);
            if let Some(c) = i.ca.as_mut() {
                fix(c);
            }
            i.mqtt_passwd.iter_mut().for_each(fix);
            i.mqtt_acl.iter_mut().for_each(fix);
            for p in [&mut i.mqtt_tls_cert, &mut i.mqtt_tls_key, &mut i.mqtt_tls_trust].into_iter().flatten() {
                fix(p);
            }
            i.mqtt_tls_crls.iter_mut().for_each(fix);
            let tls_files = [
                ("ingest.mqtt_tls_cert", &i.mqtt_tls_cert),
                ("ingest.mqtt_tls_key", &i.mqtt_tls_key),
                ("ingest.mqtt_tls_trust", &i.mqtt_tls_trust),
            ];
            if i.mqtt_tls_listen.is_some() {
                if let Some((field, _)) = tls_files.iter().find(|(_, v)| v.is_none()) {
                    return Err(invalid(field, "required with ingest.mqtt_tls_listen".into()));
                }
                if !matches!(broker_of(i), Ok(Broker::Embedded(_))) {
                    return Err(invalid("ingest.mqtt_tls_listen", "only for the embedded broker".into()));
                }
            } else if tls_files.iter().any(|(_, v)| v.is_some()) || !i.mqtt_tls_crls.is_empty() {
                return Err(invalid(
                    "ingest.mqtt_tls_listen",
                    "MQTT TLS files are given but no listener to use them".into(),
                ));
            }
            match broker_of(i).map_err(|r| invalid("ingest.broker", r))? {
                Broker::Embedded(_) if i.mqtt_passwd.is_none() => {
                    return Err(invalid(
                        "ingest.mqtt_passwd",
                        "the embedded broker admits only clients in a password file: name one (scf mqtt passwd --file … --username DEVICE writes it)".into(),
                    ));
                }
                Broker::Url(_) if i.mqtt_passwd.is_some() || i.mqtt_acl.is_some() => {
                    return Err(invalid(
                        if i.mqtt_passwd.is_some() { "ingest.mqtt_passwd" } else { "ingest.mqtt_acl" },
                        "only for the embedded broker; give an external broker these files in its own config (docs/operations.md §3)".into(),
                    ));
                }
                _ => {}
            }
            if let Some(p) = i.password.as_mut() {
                *p = resolve_env(p).map_err(|r| invalid("ingest.password", r))?;
            }
        }
        Ok(cfg)
    }
}

/// The file of a `sqlite:` URL (`None` for other databases and in-memory SQLite).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// `env:NAME` → the variable's value; anything else as written.
fn resolve_env(v: &str) -> Result<String, String> {
    match v.strip_prefix("env:") {
        Some(name) => std::env::var(name).map_err(|_| format!("environment variable {name} is not set")),
        None => Ok(v.to_string()),
    }
}

/// Where the ingestion service finds its broker, and whether to start one.
enum Broker {
    Embedded(SocketAddr),
    Url(String),
}

fn broker_of(i: &IngestSection) -> Result<Broker, String> {
    if let Some(addr) = i.broker.strip_prefix("embedded:") {
        return addr
            .parse()
            .map(Broker::Embedded)
            .map_err(|_| format!("{addr:?} is not an address like 127.0.0.1:1883"));
    }
    if i.broker.starts_with("mqtt://") || i.broker.starts_with("mqtts://") {
        return Ok(Broker::Url(i.broker.clone()));
    }
    Err("must be embedded:ADDR, mqtt://HOST:PORT or mqtts://HOST:PORT".into())
}

fn read_key(path: &Path, what: &str) -> anyhow::Result<scf_ledger::crypto::KeyPair> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("{what}: {}", path.display()))?;
    scf_ledger::crypto::KeyPair::from_pkcs8_pem(&pem).map_err(|e| anyhow!("{what}: {}: {e}", path.display()))
}

/// `api.org_key` must be the key registered on chain for `org`: data keys are wrapped for that one.
fn check_org_key(
    chain: &dyn scf_client::Chain,
    org: &str,
    key: &scf_ledger::crypto::KeyPair,
    path: &Path,
) -> anyhow::Result<()> {
    let state = chain.state(None).map_err(|e| anyhow!("api.org_key: reading the chain: {e}"))?;
    match scf_domain::org::load_org(state.as_ref(), org).map_err(|e| anyhow!("api.org_key: reading the chain: {e}"))? {
        Some(o) if o.public_key == *key.public() => Ok(()),
        Some(_) => {
            Err(anyhow!("api.org_key: {} is not the key registered on chain for organisation {org}", path.display()))
        }
        None => Err(anyhow!("api.org_key: organisation {org} is not on chain")),
    }
}

/// Each 国密 TLS endpoint of the member and the certificate it presents now.
type TlsEndpoints = Vec<(String, Arc<scf_gmtls::CurrentIdentity>)>;

/// Run the member until SIGINT/SIGTERM.
pub fn run(cfg: MemberConfig) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(run_async(cfg))
}

async fn run_async(cfg: MemberConfig) -> anyhow::Result<()> {
    let node =
        scf_node::NodeHandle::start(cfg.node.clone(), scf_domain::modules()).await.map_err(|e| anyhow!("node: {e}"))?;
    let chain: Arc<dyn scf_client::Chain> = node.chain().clone();
    let mut tasks = vec![crate::key_watch::spawn(chain.clone())];
    // The certificates each 国密 TLS endpoint presents, for the portal's expiry warnings: the node's
    // now, the MQTT front's once it starts.
    let tls_endpoints: Arc<std::sync::RwLock<TlsEndpoints>> =
        Arc::new(std::sync::RwLock::new(node.tls_identities().into_iter().map(|(n, c)| (n.to_string(), c)).collect()));
    let mut api = None;
    if let Some(a) = &cfg.api {
        let node_key = crate::demo::load_or_create_node_key(&a.node_key)?;
        if let Some(dir) = sqlite_file(&a.database_url).as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir).with_context(|| format!("api.database_url: directory {}", dir.display()))?;
        }
        let mut api_cfg = scf_graphql::Config::new(a.listen, a.database_url.clone(), node_key);
        api_cfg.ui_dir = a.ui.clone();
        api_cfg.public_url = a.public_url.clone();
        api_cfg.limits.introspection = a.introspection;
        api_cfg.metrics_token = a.metrics_token.clone();
        api_cfg.webhooks.allow_private = a.webhooks_allow_private;
        let endpoints = tls_endpoints.clone();
        api_cfg.tls_certificates = Some(Arc::new(move || {
            let all = endpoints.read().unwrap_or_else(|p| p.into_inner());
            all.iter().map(|(n, c)| (n.clone(), c.get().certificate().clone())).collect()
        }));
        if let Some(path) = &a.org_key {
            let key = read_key(path, "api.org_key")?;
            check_org_key(chain.as_ref(), &cfg.org, &key, path)?;
            api_cfg.org_keys = scf_graphql::sealing::OrgKeys::new([(cfg.org.clone(), key)]);
        }
        for ca in &a.webhooks_ca {
            let pem = std::fs::read_to_string(ca).with_context(|| format!("api.webhooks_ca: {}", ca.display()))?;
            api_cfg.webhooks.extra_roots_pem.push(pem);
        }
        let server = scf_graphql::start(api_cfg, chain.clone()).await.map_err(|e| anyhow!("API: {e}"))?;
        eprintln!("scf member {}: GraphQL API on http://{}/graphql", cfg.org, server.addr);
        api = Some(server);
    }
    if let Some(t) = &cfg.timers {
        let key = read_key(&t.key, "timers.key")?;
        let store = scf_workflows::WorkflowStore::open(&t.schedule).map_err(|e| anyhow!("timers.schedule: {e}"))?;
        let service = scf_workflows::TimerService::new(store, key);
        tasks.push(tokio::spawn(service.run(chain.clone(), Duration::from_millis(t.period_ms))));
        eprintln!("scf member {}: workflow timers running", cfg.org);
    }
    let mut ingest = None;
    let mut embedded = None;
    if let Some(i) = &cfg.ingest {
        let key = read_key(&i.key, "ingest.key")?;
        let broker = match broker_of(i).map_err(|r| anyhow!("ingest.broker: {r}"))? {
            Broker::Embedded(addr) => {
                let passwd = i.mqtt_passwd.as_deref().ok_or_else(|| anyhow!("ingest.mqtt_passwd: missing"))?;
                let access = scf_iot_ingest::mqtt_access::Access::load(passwd, i.mqtt_acl.as_deref())
                    .map_err(|e| anyhow!("ingest.mqtt_passwd/mqtt_acl: {e}"))?;
                let mut b = scf_iot_ingest::broker::EmbeddedBroker::start(addr, access).await?;
                eprintln!("scf member {}: MQTT broker on mqtt://{} (password file and ACL enforced)", cfg.org, b.addr);
                if let Some(listen) = i.mqtt_tls_listen {
                    let (tls, watcher, current) = mqtt_tls(i, listen)?;
                    tls_endpoints.write().unwrap_or_else(|p| p.into_inner()).push(("mqtt".into(), current));
                    let at = b.serve_tls(tls).await?;
                    tasks.extend(watcher);
                    eprintln!("scf member {}: MQTT over 国密 TLS on {at} (device certificates)", cfg.org);
                }
                let internal = b.internal_args();
                embedded = Some(b);
                internal
            }
            Broker::Url(url) => scf_iot_ingest::broker::BrokerArgs {
                url,
                username: i.username.clone(),
                password: i.password.clone(),
                ca_file: i.ca.clone(),
            },
        };
        let mut ic = scf_iot_ingest::IngestConfig::new(i.data_dir.clone(), broker);
        ic.client_id = i.client_id.clone().unwrap_or_else(|| format!("scf-ingest-{}-{}", cfg.org, key.address()));
        let handle =
            scf_iot_ingest::service::start(ic, chain.clone(), key).await.map_err(|e| anyhow!("IoT ingestion: {e}"))?;
        eprintln!("scf member {}: IoT ingestion subscribed", cfg.org);
        ingest = Some(handle);
    }
    crate::demo::wait_for_shutdown().await;
    eprintln!("stopping …");
    if let Some(i) = ingest {
        i.shutdown().await;
    }
    drop(embedded);
    if let Some(s) = api {
        s.abort();
    }
    for t in tasks {
        t.abort();
    }
    node.shutdown().await;
    Ok(())
}

/// The MQTT front's 国密 TLS settings from `[ingest] mqtt_tls_*`, and the task that re-reads its CRLs.
fn mqtt_tls(
    i: &IngestSection,
    listen: std::net::SocketAddr,
) -> anyhow::Result<(scf_iot_ingest::broker::MqttTls, Vec<tokio::task::JoinHandle<()>>, Arc<scf_gmtls::CurrentIdentity>)>
{
    let file = |field: &str, p: &Option<PathBuf>| -> anyhow::Result<String> {
        let p = p.as_ref().ok_or_else(|| anyhow!("{field}: missing"))?;
        std::fs::read_to_string(p).map_err(|e| anyhow!("{field}: {}: {e}", p.display()))
    };
    let identity = scf_gmtls::Identity::from_pem(
        &file("ingest.mqtt_tls_cert", &i.mqtt_tls_cert)?,
        &file("ingest.mqtt_tls_key", &i.mqtt_tls_key)?,
    )
    .map_err(|e| anyhow!("ingest.mqtt_tls_cert: {e}"))?;
    let store = scf_ca::TrustStore::from_pem(&file("ingest.mqtt_tls_trust", &i.mqtt_tls_trust)?)
        .map_err(|e| anyhow!("ingest.mqtt_tls_trust: {e}"))?;
    let revoked = scf_gmtls::crl_files::read_crls("ingest.mqtt_tls_crls", &i.mqtt_tls_crls, &store)?;
    let revocations = std::sync::Arc::new(scf_ca::SharedRevocations::new(revoked));
    let trust = scf_gmtls::Trust::new(store, revocations.clone());
    let current = scf_gmtls::CurrentIdentity::new(identity);
    let tls = scf_iot_ingest::broker::MqttTls::new(listen, current.clone(), trust.clone())?;
    let mut watchers = vec![tokio::spawn(scf_gmtls::crl_files::watch_trust(
        "MQTT (国密 TLS)",
        "ingest.mqtt_tls_trust",
        i.mqtt_tls_trust.clone().unwrap_or_default(),
        trust.clone(),
    ))];
    watchers.push(tokio::spawn(scf_gmtls::rotation::watch_identity(
        "mqtt",
        i.mqtt_tls_cert.clone().unwrap_or_default(),
        i.mqtt_tls_key.clone().unwrap_or_default(),
        current.clone(),
        trust.clone(),
        |_| Ok(()),
    )));
    if !i.mqtt_tls_crls.is_empty() {
        let (live, check) = (tls.live.clone(), revocations.clone());
        watchers.push(tokio::spawn(scf_gmtls::crl_files::watch_crls(
            "MQTT (国密 TLS)",
            "ingest.mqtt_tls_crls",
            i.mqtt_tls_crls.clone(),
            trust.clone(),
            revocations,
            move || {
                live.sweep("MQTT (国密 TLS)", check.as_ref());
            },
        )));
    }
    Ok((tls, watchers, current))
}

/// The example `scf member init` writes.
pub fn example_config(org: &str) -> String {
    format!(
        r#"# scf member: everything one consortium member runs, from this one file.
# Relative paths are relative to this file. Start with:  scf member --config member.toml

# This member's organisation id on chain (as registered at genesis or admitted by governance).
org = "{org}"

# ---------------------------------------------------------------------------------------------
# The node: a validator (with consensus_key) or an observer (without).
[node]
moniker = "{org_lower}-node"
home = "data/node"                 # RocksDB and the consensus WAL
genesis = "genesis.json"           # the consortium's genesis, the same file for every member
consensus_key = "keys/consensus.pem"   # remove this line to run an observer
p2p_key = "keys/p2p.key"           # libp2p identity; `scf keygen --node NAME --out keys` makes both

[node.p2p]
listen = "/ip4/0.0.0.0/tcp/27000"
# The other members' nodes (/ip4/…/tcp/…/p2p/<peer id>); only these may connect.
persistent_peers = []
tx_listen = "/ip4/0.0.0.0/tcp/27100"    # transaction gossip, its own port
tx_peers = []
# 国密 TLS between nodes (TLS 1.3, TLS_SM4_GCM_SM3, SM2 certificates; docs/operations.md §8.2). Without
# these lines the nodes use Noise (ed25519, X25519, ChaCha20-Poly1305), which is not 国密.
# scf ca issue --ca ca --kind node --subject CN={org_lower}-node --pubkey keys/tls/key.pub.pem \
#   --out keys/node.crt.pem --san urn:libp2p:peer:<this node's peer id>
# tls_cert = "keys/node.crt.pem"
# tls_key = "keys/tls/key.pem"
# tls_trust = "keys/consortium-cas.pem"   # every member organisation's CA certificate
# tls_trust_on_chain = true               # or instead: the CAs and revocations the committee recorded on
#                                         # chain (genesis --org …,ca=FILE; AddOrgCa …; §8.2.1)
# tls_crls = ["crl/{org_lower}.crl"]      # every member's CRL; re-read when they change

[node.api]
listen = "127.0.0.1:26658"         # the node client API for tools on this machine: loopback only
# The same API for other machines, over mutual 国密 TLS (docs/operations.md §8.1):
# https_listen = "0.0.0.0:26659"
# tls_cert = "keys/api.crt"        # scf ca issue --kind tls … --san <host callers dial>
# tls_key = "keys/api/key.pem"
# tls_trust = "keys/consortium-cas.pem"   # CA certificates of the organisations that may call
# tls_crls = ["crl/bank-a.crl"]    # re-read when they change
# allowed_orgs = []                # empty: every organisation in tls_trust

# ---------------------------------------------------------------------------------------------
# The GraphQL API, the web UI and the consumer pages. Remove the section to run no API.
[api]
listen = "127.0.0.1:8080"          # put a TLS reverse proxy in front of it for browsers
database_url = "sqlite://data/read-model.sqlite?mode=rwc"   # or postgres://…, or env:SCF_DATABASE_URL
node_key = "keys/node.key"         # seals custodial user keys; created if missing; back it up
# ui = "/opt/scf/ui/dist"
# public_url = "https://trace.example.cn"   # links the GS1 resolver hands out (default: the request's Host)
# webhooks_allow_private = false   # allow webhook receivers on private addresses (the member's own network)
# webhooks_ca = ["keys/erp-ca.pem"]   # extra roots for webhook receivers' certificates
# introspection = false            # schema introspection and GraphiQL (development only)
# metrics_token = "env:SCF_METRICS_TOKEN"   # /metrics for Prometheus off this machine (else loopback only)
# Invoice lines travel and rest sealed (SM4-GCM, data key wrapped for each entitled organisation).
# The API opens the lines sealed for this organisation with its on-chain organisation key (PKCS#8 PEM,
# the key registered for `org`). Without it the API still issues sealed invoices but shows no lines.
# org_key = "keys/org.pem"

# ---------------------------------------------------------------------------------------------
# Workflow deadlines (financing, pledge, maturity). Every member may run them: the chain applies a
# deadline once and refuses the rest. Remove the section to run none.
[timers]
key = "keys/timer.pem"             # an account of this organisation (`scf keygen --out keys/timer`)
schedule = "data/timers.redb"

# ---------------------------------------------------------------------------------------------
# IoT ingestion: device-signed readings over MQTT, anchored on chain. Remove to run none.
# [ingest]
# key = "keys/ingest.pem"          # an account authorised as this organisation's ingestor
# data_dir = "data/ingest"
# broker = "embedded:127.0.0.1:1883"   # or mqtts://broker.example:8883 (with ca = "…")
# Embedded broker: who may connect and what they may do (Mosquitto's file formats). Add a device with
#   scf mqtt passwd --file mqtt/passwd --username DEVICE_ID   (prints its password once)
# mqtt_passwd = "mqtt/passwd"
# mqtt_acl = "mqtt/acl"           # default: each device publishes only to its own telemetry topic
# Devices with certificates instead of passwords, over 国密 TLS (docs/operations.md §3.2):
# mqtt_tls_listen = "0.0.0.0:8883"
# mqtt_tls_cert = "keys/mqtt.crt"   # scf ca issue --kind tls … --san <host devices dial>
# mqtt_tls_key = "keys/mqtt/key.pem"
# mqtt_tls_trust = "ca/ca.pem"      # the CA that issues this organisation's device certificates
# mqtt_tls_crls = ["ca/crl.pem"]
"#,
        org_lower = org.to_lowercase()
    )
}

/// `scf member init`: write the example config (never over an existing file).
pub fn init(out: &Path, org: &str) -> anyhow::Result<()> {
    crate::files::write_new(out, example_config(org).as_bytes(), false)
        .with_context(|| format!("{}: refusing to overwrite", out.display()))?;
    println!("wrote {} — edit it, then: scf member --config {}", out.display(), out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_file("sqlite://data/rm.sqlite?mode=rwc"), Some(PathBuf::from("data/rm.sqlite")));
        assert_eq!(sqlite_file("sqlite:/var/lib/scf/rm.sqlite"), Some(PathBuf::from("/var/lib/scf/rm.sqlite")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn a_relative_sqlite_file_is_relative_to_the_config() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("member.toml");
        std::fs::write(&path, example_config("CORE")).expect("write");
        let cfg = MemberConfig::load(&path).expect("the example config loads");
        let url = cfg.api.expect("api").database_url;
        assert_eq!(url, format!("sqlite://{}?mode=rwc", dir.path().join("data/read-model.sqlite").display()));
    }

    /// `api.org_key` is optional and relative to the config like every other path.
    #[test]
    fn the_org_key_is_optional_and_resolved() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("member.toml");
        std::fs::write(&path, example_config("CORE")).expect("write");
        assert_eq!(MemberConfig::load(&path).expect("loads").api.expect("api").org_key, None);
        let with = example_config("CORE").replace("# org_key = ", "org_key = ");
        std::fs::write(&path, with).expect("write");
        let cfg = MemberConfig::load(&path).expect("loads");
        assert_eq!(cfg.api.expect("api").org_key, Some(dir.path().join("keys/org.pem")));
    }

    /// The embedded broker never runs open: without a password file the config is refused, naming the
    /// key; the files are for the embedded broker only.
    #[test]
    fn an_embedded_broker_needs_a_password_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("member.toml");
        let base = example_config("CORE");
        let with = |ingest: &str| {
            std::fs::write(&path, format!("{base}\n[ingest]\nkey = \"k.pem\"\ndata_dir = \"d\"\n{ingest}"))
                .expect("write");
            MemberConfig::load(&path)
        };
        let err = with("broker = \"embedded:127.0.0.1:1883\"\n").expect_err("refused").to_string();
        assert!(err.contains("ingest.mqtt_passwd") && err.contains("password file"), "{err}");
        let cfg = with("broker = \"embedded:127.0.0.1:1883\"\nmqtt_passwd = \"mqtt/passwd\"\n").expect("loads");
        assert_eq!(cfg.ingest.and_then(|i| i.mqtt_passwd), Some(dir.path().join("mqtt/passwd")));
        let err = with("broker = \"mqtt://broker:1883\"\nmqtt_acl = \"acl\"\n").expect_err("refused").to_string();
        assert!(err.contains("ingest.mqtt_acl"), "{err}");
        // The 国密 TLS listener needs its files, and the files need the listener.
        let embedded = "broker = \"embedded:127.0.0.1:1883\"\nmqtt_passwd = \"mqtt/passwd\"\n";
        let err = with(&format!("{embedded}mqtt_tls_listen = \"127.0.0.1:8883\"\n")).expect_err("refused").to_string();
        assert!(err.contains("ingest.mqtt_tls_cert"), "{err}");
        let err = with(&format!("{embedded}mqtt_tls_cert = \"c.pem\"\n")).expect_err("refused").to_string();
        assert!(err.contains("ingest.mqtt_tls_listen"), "{err}");
        let tls = "mqtt_tls_listen = \"127.0.0.1:8883\"\nmqtt_tls_cert = \"c.pem\"\nmqtt_tls_key = \"k.pem\"\n\
                   mqtt_tls_trust = \"ca.pem\"\nmqtt_tls_crls = [\"crl.pem\"]\n";
        let cfg = with(&format!("{embedded}{tls}")).expect("loads");
        assert_eq!(cfg.ingest.and_then(|i| i.mqtt_tls_crls.first().cloned()), Some(dir.path().join("crl.pem")));
        let err = with(&format!("broker = \"mqtt://broker:1883\"\n{tls}")).expect_err("refused").to_string();
        assert!(err.contains("only for the embedded broker"), "{err}");
    }
}
