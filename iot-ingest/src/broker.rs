//! Brokers: any standard MQTT 3.1.1 broker by URL (`mqtt://host:port`, `mqtts://host:port` with an
//! optional CA file, username/password), or the embedded `rumqttd` broker of the single-process default.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rumqttc::{MqttOptions, TlsConfiguration, Transport};

/// Where and how to connect.
#[derive(Clone, Debug, clap::Args)]
pub struct BrokerArgs {
    /// Broker URL: `mqtt://host:port` or `mqtts://host:port` (TLS).
    #[arg(long = "broker", default_value = "mqtt://127.0.0.1:1883")]
    pub url: String,
    /// MQTT username.
    #[arg(long = "mqtt-username")]
    pub username: Option<String>,
    /// MQTT password (prefer the SCF_MQTT_PASSWORD environment variable).
    #[arg(long = "mqtt-password", env = "SCF_MQTT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// PEM file of the CA that signed the broker's certificate (mqtts only; default: the system roots).
    #[arg(long = "mqtt-ca")]
    pub ca_file: Option<PathBuf>,
}

impl BrokerArgs {
    pub fn plain(addr: SocketAddr) -> Self {
        BrokerArgs { url: format!("mqtt://{addr}"), username: None, password: None, ca_file: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    #[error("broker: {0:?} is not mqtt://host:port or mqtts://host:port")]
    BadUrl(String),
    #[error("mqtt-ca: {0}")]
    Ca(String),
    #[error("embedded broker: {0}")]
    Embedded(String),
    #[error("mosquitto: {0}")]
    Mosquitto(String),
}

/// `(tls, host, port)` of a broker URL.
pub fn parse_url(url: &str) -> Result<(bool, String, u16), BrokerError> {
    let bad = || BrokerError::BadUrl(url.to_string());
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")) {
        (false, r)
    } else {
        return Err(bad());
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (rest, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    Ok((tls, host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

/// MQTT options for `client_id` (keep-alive 30 s, large packets refused by size).
pub fn mqtt_options(args: &BrokerArgs, client_id: &str) -> Result<MqttOptions, BrokerError> {
    let (tls, host, port) = parse_url(&args.url)?;
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(64 * 1024, 64 * 1024);
    if let Some(u) = &args.username {
        o.set_credentials(u.clone(), args.password.clone().unwrap_or_default());
    }
    if tls {
        let transport = match &args.ca_file {
            Some(p) => {
                let ca = std::fs::read(p).map_err(|e| BrokerError::Ca(format!("{}: {e}", p.display())))?;
                Transport::tls_with_config(TlsConfiguration::Simple { ca, alpn: None, client_auth: None })
            }
            None => Transport::tls_with_default_config(),
        };
        o.set_transport(transport);
    }
    Ok(o)
}

/// Wait until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The embedded broker: `rumqttd` on a private loopback port that only accepts a per-process secret,
/// behind the [`crate::guard`] on `addr`, which admits clients from the password file and enforces the
/// ACL ([`crate::mqtt_access`]). The broker thread lives as long as the process; dropping this stops
/// admitting clients.
pub struct EmbeddedBroker {
    /// Where devices and other clients connect.
    pub addr: SocketAddr,
    /// Where devices connect over 国密 TLS with a certificate, when [`EmbeddedBroker::serve_tls`] ran.
    pub tls_addr: Option<SocketAddr>,
    inner: crate::guard::Upstream,
    access: std::sync::Arc<crate::mqtt_access::Access>,
    guard: tokio::task::JoinHandle<()>,
    tls_guard: Option<tokio::task::JoinHandle<()>>,
}

/// The 国密 TLS listener of the embedded broker: where, with which certificate, trusting which CAs.
pub struct MqttTls {
    pub listen: SocketAddr,
    pub config: std::sync::Arc<scf_gmtls::rustls::ServerConfig>,
    pub trust: scf_gmtls::Trust,
    /// The devices connected over TLS; sweep it when the revocations change to cut revoked ones off.
    pub live: std::sync::Arc<scf_gmtls::live::LiveConnections>,
}

impl MqttTls {
    /// A server presenting `identity` (kind `tls`, naming the host devices dial; replaceable while it
    /// runs) that demands a client certificate from a CA in `trust`.
    pub fn new(
        listen: SocketAddr,
        identity: std::sync::Arc<scf_gmtls::CurrentIdentity>,
        trust: scf_gmtls::Trust,
    ) -> Result<Self, BrokerError> {
        let config = scf_gmtls::server_config_rotating(identity, trust.clone(), scf_gmtls::ClientAuth::Required)
            .map_err(|e| BrokerError::Embedded(format!("MQTT TLS: {e}")))?;
        Ok(MqttTls { listen, config, trust, live: Default::default() })
    }
}

impl EmbeddedBroker {
    /// Start the broker and its guard on `listen` (port 0: any free port) and wait until both accept
    /// connections. Needs a Tokio runtime.
    pub async fn start(listen: SocketAddr, access: crate::mqtt_access::Access) -> Result<EmbeddedBroker, BrokerError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| BrokerError::Embedded(format!("listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| BrokerError::Embedded(e.to_string()))?;
        let inner_port = free_port().map_err(|e| BrokerError::Embedded(format!("no free loopback port: {e}")))?;
        let inner_addr = SocketAddr::from(([127, 0, 0, 1], inner_port));
        let password = crate::mqtt_access::generate_password().map_err(|e| BrokerError::Embedded(e.to_string()))?;
        let inner = crate::guard::Upstream { addr: inner_addr, username: "scf-internal".into(), password };
        let auth: HashMap<String, String> = [(inner.username.clone(), inner.password.clone())].into_iter().collect();
        tokio::task::spawn_blocking(move || start_rumqttd(inner_addr, auth))
            .await
            .map_err(|e| BrokerError::Embedded(e.to_string()))??;
        let access = std::sync::Arc::new(access);
        let guard = tokio::spawn(crate::guard::serve(listener, access.clone(), inner.clone()));
        Ok(EmbeddedBroker { addr, tls_addr: None, inner, access, guard, tls_guard: None })
    }

    /// Also accept devices over 国密 TLS ([`crate::guard::serve_tls`]): the client certificate is the
    /// credential, the same ACL applies.
    pub async fn serve_tls(&mut self, tls: MqttTls) -> Result<SocketAddr, BrokerError> {
        let listener = tokio::net::TcpListener::bind(tls.listen)
            .await
            .map_err(|e| BrokerError::Embedded(format!("MQTT TLS: listen on {}: {e}", tls.listen)))?;
        let addr = listener.local_addr().map_err(|e| BrokerError::Embedded(e.to_string()))?;
        if let Some(old) = self.tls_guard.take() {
            old.abort();
        }
        self.tls_guard = Some(tokio::spawn(crate::guard::serve_tls(
            listener,
            tls.config,
            tls.trust,
            tls.live,
            self.access.clone(),
            self.inner.clone(),
        )));
        self.tls_addr = Some(addr);
        Ok(addr)
    }

    /// Connection settings for a trusted client in this process (the ingestion service): straight to
    /// the broker with the internal secret, past the guard.
    pub fn internal_args(&self) -> BrokerArgs {
        BrokerArgs {
            url: format!("mqtt://{}", self.inner.addr),
            username: Some(self.inner.username.clone()),
            password: Some(self.inner.password.clone()),
            ca_file: None,
        }
    }

    /// Connection settings for a client of the guard with these credentials.
    pub fn client_args(&self, username: &str, password: &str) -> BrokerArgs {
        BrokerArgs {
            url: format!("mqtt://{}", self.addr),
            username: Some(username.to_string()),
            password: Some(password.to_string()),
            ca_file: None,
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        if let Some(t) = &self.tls_guard {
            t.abort();
        }
        self.guard.abort();
    }
}

/// `rumqttd` (MQTT 3.1.1) on `listen` in a background thread, admitting only the `auth` users; waits
/// until it accepts connections.
fn start_rumqttd(listen: SocketAddr, auth: HashMap<String, String>) -> Result<(), BrokerError> {
    use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 64 * 1024,
        max_inflight_count: 1000,
        auth: Some(auth),
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings { name: "v4-1".into(), listen, tls: None, next_connection_delay_ms: 1, connections };
    let router = RouterConfig {
        max_connections: 10_010,
        max_outgoing_packet_count: 1000,
        max_segment_size: 100 * 1024 * 1024,
        max_segment_count: 10,
        ..Default::default()
    };
    let config = Config {
        id: 0,
        router,
        v4: Some([("1".to_string(), server)].into_iter().collect()),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("scf-mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("embedded broker stopped: {e}");
            }
        })
        .map_err(|e| BrokerError::Embedded(e.to_string()))?;
    if !wait_for_port(listen, Duration::from_secs(10)) {
        return Err(BrokerError::Embedded(format!("not listening on {listen} after 10 s")));
    }
    Ok(())
}

/// A Mosquitto process (Debian's `/usr/sbin/mosquitto`) on a free loopback port with a generated
/// config (no persistence, deep queues), stopped on drop. For tests and local trials that want a real
/// external broker rather than the embedded one. [`MosquittoProcess::start`] admits anonymous clients;
/// [`MosquittoProcess::start_with_access`] takes the same password and ACL files as the embedded broker.
pub struct MosquittoProcess {
    child: std::process::Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl MosquittoProcess {
    pub fn start() -> Result<MosquittoProcess, BrokerError> {
        Self::launch("allow_anonymous true\n".into())
    }

    /// Mosquitto with `password_file` and `acl_file`, anonymous clients refused: the set-up documented
    /// in docs/operations.md for members that run Mosquitto.
    pub fn start_with_access(passwd: &std::path::Path, acl: &std::path::Path) -> Result<MosquittoProcess, BrokerError> {
        // Started as root, Mosquitto would switch to the `mosquitto` user, which cannot read files in a
        // private temporary directory; `user root` keeps it (ignored when not started as root).
        Self::launch(format!(
            "user root\nallow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ))
    }

    fn launch(access: String) -> Result<MosquittoProcess, BrokerError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| BrokerError::Mosquitto(format!("{what}: {e}"));
        let dir = tempfile::tempdir().map_err(|e| fail("temp dir", &e))?;
        let port = free_port().map_err(|e| fail("free port", &e))?;
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{access}persistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\nlog_dest none\n"
            ),
        )
        .map_err(|e| fail("config", &e))?;
        let child = std::process::Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| fail("start /usr/sbin/mosquitto", &e))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut broker = MosquittoProcess { child, addr, _dir: dir };
        if !wait_for_port(addr, Duration::from_secs(10)) {
            let _ = broker.child.kill();
            return Err(BrokerError::Mosquitto(format!("not listening on {addr} after 10 s")));
        }
        Ok(broker)
    }
}

impl Drop for MosquittoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bind to port 0 and release it).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("mqtt://127.0.0.1:1884"), Ok((false, "127.0.0.1".into(), 1884)));
        assert_eq!(parse_url("mqtts://broker.example.com"), Ok((true, "broker.example.com".into(), 8883)));
        assert!(parse_url("http://x:1").is_err());
        assert!(parse_url("mqtt://:1").is_err());
        assert!(parse_url("mqtt://h:99999").is_err());
    }
}
