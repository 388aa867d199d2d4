//! The embedded broker's front door: MQTT 3.1.1 clients connect here, never to `rumqttd` itself, which
//! has no topic ACLs and listens only on a loopback port with a per-process secret.
//!
//! For each connection the guard reads the CONNECT packet and:
//! - refuses clients without a username (CONNACK 5, not authorised) and wrong passwords (CONNACK 4),
//!   checked against the Mosquitto-format password file ([`crate::mqtt_access`]);
//! - refuses a will message on a topic the client may not publish to (CONNACK 5);
//! - gives the client id a per-user namespace (`USERNAME:CLIENTID` towards the broker), so that a client
//!   can take over only its own user's sessions, and a fresh one when it is empty;
//! - swaps the credentials for the broker's internal ones and relays the connection.
//!
//! After that every PUBLISH from the client is checked against the ACL: one outside it closes the
//! connection unacknowledged (a device learns that something is wrong; Mosquitto instead acknowledges
//! and drops the message). A SUBSCRIBE with any filter the ACL does not cover (for `$share/GROUP/FILTER`,
//! the FILTER) is answered here with SUBACK failure (0x80) for all its filters and not forwarded.
//! Packets are size-bounded in both directions; a second CONNECT or a malformed packet closes the
//! connection.
//!
//! **国密 TLS listener** ([`serve_tls`], `[ingest] mqtt_tls_listen`): MQTT over TLS 1.3 with the RFC 8998
//! suite (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3, `scf-gmtls`). The device presents a certificate from an
//! organisation CA (`scf ca issue --kind device --subject CN=<device id>`), checked at the handshake for
//! chain, validity, clientAuth and revocation. The certificate is the credential: the CONNECT username, if
//! any, must be the certificate's CN (else CONNACK 5), no password is needed, and the ACL applies to
//! the CN. Everything after CONNECT is as on the plain listener. A device whose certificate is revoked
//! while it is connected is cut off at once (`scf_gmtls::live`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::mqtt_access::{check_filter, Access, Want};

/// Largest packet a client may send (payloads are at most 64 KiB, plus topic and headers).
pub const MAX_CLIENT_PACKET: usize = 64 * 1024 + 1024;
/// Largest packet relayed from the broker to a client.
pub const MAX_BROKER_PACKET: usize = 1024 * 1024;
/// How long a client has to send CONNECT after the TCP connection opens.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Credentials the guard uses towards the broker.
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub username: String,
    pub password: String,
}

/// The next connection; a failed accept (out of file descriptors and the like) is logged and retried
/// after a pause instead of spinning.
async fn accept(listener: &TcpListener, what: &str) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(c) => return c,
            Err(e) => {
                tracing::warn!("{what}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Accept clients on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, access: Arc<Access>, upstream: Upstream) {
    loop {
        let (client, remote) = accept(&listener, "MQTT guard").await;
        let access = access.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            if let Err(e) = connection(client, None, &access, &upstream).await {
                tracing::debug!(%remote, "MQTT guard: connection closed: {e}");
            }
        });
    }
}

/// Accept devices over 国密 TLS on `listener` until the task is aborted; see the module documentation.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<scf_gmtls::rustls::ServerConfig>,
    trust: scf_gmtls::Trust,
    live: Arc<scf_gmtls::live::LiveConnections>,
    access: Arc<Access>,
    upstream: Upstream,
) {
    let acceptor = scf_gmtls::tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (client, remote) = accept(&listener, "MQTT guard (TLS)").await;
        let (access, upstream, acceptor, trust) = (access.clone(), upstream.clone(), acceptor.clone(), trust.clone());
        let live = live.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            let stream = match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(client)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    refused("certificate");
                    tracing::info!(%remote, "MQTT guard (TLS): handshake refused: {e}");
                    return;
                }
                Err(_) => {
                    refused("timeout");
                    return;
                }
            };
            let Some((device, verified)) = scf_gmtls::peer_identity(&trust, stream.get_ref().1)
                .and_then(|v| Some((v.certificate.common_name()?, v)))
            else {
                refused("certificate");
                tracing::info!(%remote, "MQTT guard (TLS): the client certificate names no device (CN)");
                return;
            };
            // A revocation learnt while the device is connected closes the connection at once.
            let revoked = live.register(verified.issuer, verified.certificate.serial());
            let stream = Guarded { inner: stream, revoked };
            if let Err(e) = connection(stream, Some(device), &access, &upstream).await {
                tracing::debug!(%remote, "MQTT guard (TLS): connection closed: {e}");
            }
        });
    }
}

#[derive(Debug, thiserror::Error)]
enum GuardError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("packet of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("refused: {0}")]
    Refused(String),
    #[error("no CONNECT within {0:?}")]
    Timeout(Duration),
}

/// One MQTT control packet: the first byte of the fixed header and the rest after the length.
struct Packet {
    first: u8,
    body: Vec<u8>,
}

impl Packet {
    fn kind(&self) -> u8 {
        self.first >> 4
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 5);
        out.push(self.first);
        let mut len = self.body.len();
        loop {
            let mut b = (len % 128) as u8;
            len /= 128;
            if len > 0 {
                b |= 0x80;
            }
            out.push(b);
            if len == 0 {
                break;
            }
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// Read one packet; `Ok(None)` at a clean end of stream before its first byte.
async fn read_packet<R: AsyncReadExt + Unpin>(r: &mut R, max: usize) -> Result<Option<Packet>, GuardError> {
    let mut first = [0u8; 1];
    if r.read(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut len = 0usize;
    let mut shift = 0u32;
    loop {
        let b = r.read_u8().await?;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return Err(GuardError::Malformed("remaining length over four bytes"));
        }
    }
    if len > max {
        return Err(GuardError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Packet { first: first[0], body }))
}

/// A reader over a packet body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn u8(&mut self) -> Result<u8, GuardError> {
        let b = *self.buf.get(self.pos).ok_or(GuardError::Malformed("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, GuardError> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], GuardError> {
        let n = self.u16()? as usize;
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or(GuardError::Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn string(&mut self) -> Result<&'a str, GuardError> {
        let s = std::str::from_utf8(self.bytes()?).map_err(|_| GuardError::Malformed("string is not UTF-8"))?;
        if s.contains('\0') {
            return Err(GuardError::Malformed("string contains NUL"));
        }
        Ok(s)
    }

    fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

/// The parts of a CONNECT packet (MQTT 3.1.1 §3.1) the guard needs.
struct Connect {
    flags: u8,
    keep_alive: u16,
    client_id: String,
    will: Option<(String, Vec<u8>)>,
    username: Option<String>,
    password: Option<Vec<u8>>,
}

enum ConnectProblem {
    /// CONNACK return code 1.
    Protocol,
    Malformed(&'static str),
}

fn parse_connect(p: &Packet) -> Result<Connect, ConnectProblem> {
    let m = |e: GuardError| match e {
        GuardError::Malformed(r) => ConnectProblem::Malformed(r),
        _ => ConnectProblem::Malformed("bad CONNECT"),
    };
    if p.first != 0x10 {
        return Err(ConnectProblem::Malformed("the first packet must be CONNECT"));
    }
    let mut c = Cursor::new(&p.body);
    let name = c.string().map_err(m)?;
    let level = c.u8().map_err(m)?;
    if name != "MQTT" || level != 4 {
        return Err(ConnectProblem::Protocol);
    }
    let flags = c.u8().map_err(m)?;
    if flags & 0x01 != 0 {
        return Err(ConnectProblem::Malformed("reserved CONNECT flag set"));
    }
    let keep_alive = c.u16().map_err(m)?;
    let client_id = c.string().map_err(m)?.to_string();
    let will = if flags & 0x04 != 0 {
        let topic = c.string().map_err(m)?.to_string();
        Some((topic, c.bytes().map_err(m)?.to_vec()))
    } else {
        None
    };
    let username = if flags & 0x80 != 0 { Some(c.string().map_err(m)?.to_string()) } else { None };
    let password = if flags & 0x40 != 0 { Some(c.bytes().map_err(m)?.to_vec()) } else { None };
    if !c.done() {
        return Err(ConnectProblem::Malformed("trailing bytes after CONNECT payload"));
    }
    Ok(Connect { flags, keep_alive, client_id, will, username, password })
}

fn encode_connect(c: &Connect, client_id: &str, username: &str, password: &str) -> Packet {
    let mut body = Vec::with_capacity(64 + client_id.len());
    put_bytes(&mut body, b"MQTT");
    body.push(4);
    body.push((c.flags & 0x3e) | 0xc0);
    body.extend_from_slice(&c.keep_alive.to_be_bytes());
    put_bytes(&mut body, client_id.as_bytes());
    if let Some((topic, msg)) = &c.will {
        put_bytes(&mut body, topic.as_bytes());
        put_bytes(&mut body, msg);
    }
    put_bytes(&mut body, username.as_bytes());
    put_bytes(&mut body, password.as_bytes());
    Packet { first: 0x10, body }
}

fn connack(code: u8) -> Vec<u8> {
    vec![0x20, 0x02, 0x00, code]
}

fn refused(reason: &str) {
    metrics::counter!("scf_mqtt_refused_total", "reason" => reason.to_string()).increment(1);
}

/// A device's TLS stream that fails every read and write once its certificate is revoked.
struct Guarded<S> {
    inner: S,
    revoked: Arc<scf_gmtls::live::RevocationFlag>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.revoked.check_read(cx.waker())?;
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.revoked.check()?;
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.revoked.check()?;
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Relay one client; `certified` is the device its TLS certificate names (then it needs no password).
async fn connection<S>(
    mut client: S,
    certified: Option<String>,
    access: &Access,
    upstream: &Upstream,
) -> Result<(), GuardError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let first = tokio::time::timeout(CONNECT_TIMEOUT, read_packet(&mut client, MAX_CLIENT_PACKET))
        .await
        .map_err(|_| GuardError::Timeout(CONNECT_TIMEOUT))??;
    let Some(first) = first else { return Ok(()) };
    let connect = match parse_connect(&first) {
        Ok(c) => c,
        Err(ConnectProblem::Protocol) => {
            refused("protocol");
            client.write_all(&connack(0x01)).await?;
            return Err(GuardError::Refused("only MQTT 3.1.1 is served".into()));
        }
        Err(ConnectProblem::Malformed(r)) => {
            refused("malformed");
            return Err(GuardError::Malformed(r));
        }
    };
    let username = match (&certified, connect.username.clone()) {
        (Some(device), Some(u)) if &u != device => {
            refused("certificate");
            tracing::info!(%u, %device, "MQTT guard (TLS): username is not the certificate's device");
            client.write_all(&connack(0x05)).await?;
            return Err(GuardError::Refused(format!("username {u:?} on a certificate for {device:?}")));
        }
        (Some(device), _) => device.clone(),
        (None, Some(u)) => u,
        (None, None) => {
            refused("anonymous");
            client.write_all(&connack(0x05)).await?;
            return Err(GuardError::Refused("anonymous client".into()));
        }
    };
    let password = connect.password.as_deref().and_then(|p| std::str::from_utf8(p).ok()).unwrap_or("");
    if certified.is_none() && (connect.password.is_none() || !access.passwords().check(&username, password)) {
        refused("credentials");
        tracing::info!(%username, "MQTT guard: bad username or password");
        client.write_all(&connack(0x04)).await?;
        return Err(GuardError::Refused(format!("bad credentials for {username:?}")));
    }
    let acl = access.acl().for_client(&username, &connect.client_id);
    if let Some((topic, _)) = &connect.will {
        if !acl.allows(Want::Write, topic) {
            refused("will");
            client.write_all(&connack(0x05)).await?;
            return Err(GuardError::Refused(format!("{username:?} may not publish a will to {topic:?}")));
        }
    }
    let inner_id = if connect.client_id.is_empty() {
        if connect.flags & 0x02 == 0 {
            // §3.1.3.1: an empty client id needs a clean session.
            client.write_all(&connack(0x02)).await?;
            return Err(GuardError::Refused("empty client id without clean session".into()));
        }
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| GuardError::Refused(format!("no randomness: {e}")))?;
        format!("{username}:auto-{}", hex::encode(r))
    } else {
        format!("{username}:{}", connect.client_id)
    };
    let mut broker = TcpStream::connect(upstream.addr).await?;
    let _ = broker.set_nodelay(true);
    broker.write_all(&encode_connect(&connect, &inner_id, &upstream.username, &upstream.password).encode()).await?;

    let (mut client_r, client_w) = tokio::io::split(client);
    let (mut broker_r, mut broker_w) = broker.into_split();
    let client_w = Arc::new(Mutex::new(client_w));
    let down_w = client_w.clone();
    // Broker → client: whole packets, so that SUBACKs written by the guard never split one.
    let mut down = tokio::spawn(async move {
        while let Some(p) = read_packet(&mut broker_r, MAX_BROKER_PACKET).await? {
            down_w.lock().await.write_all(&p.encode()).await?;
        }
        Ok::<(), GuardError>(())
    });
    let up = async {
        while let Some(p) = read_packet(&mut client_r, MAX_CLIENT_PACKET).await? {
            match p.kind() {
                1 => return Err(GuardError::Malformed("second CONNECT")),
                3 => {
                    let topic = Cursor::new(&p.body).string()?.to_string();
                    if !acl.allows(Want::Write, &topic) {
                        refused("publish");
                        tracing::warn!(%username, %topic, "MQTT guard: publish outside the ACL; connection closed");
                        return Err(GuardError::Refused(format!("{username:?} may not publish to {topic:?}")));
                    }
                }
                8 => {
                    let mut c = Cursor::new(&p.body);
                    let id = c.u16()?;
                    let mut filters = Vec::new();
                    while !c.done() {
                        let f = c.string()?.to_string();
                        c.u8()?;
                        filters.push(f);
                    }
                    if filters.is_empty() {
                        return Err(GuardError::Malformed("SUBSCRIBE without filters"));
                    }
                    let allowed = filters.iter().all(|f| {
                        let plain = shared_filter(f);
                        check_filter(plain).is_ok() && acl.allows(Want::Read, plain)
                    });
                    if !allowed {
                        refused("subscribe");
                        tracing::warn!(%username, ?filters, "MQTT guard: subscription outside the ACL refused");
                        let mut body = id.to_be_bytes().to_vec();
                        body.extend(std::iter::repeat_n(0x80u8, filters.len()));
                        client_w.lock().await.write_all(&Packet { first: 0x90, body }.encode()).await?;
                        continue;
                    }
                }
                _ => {}
            }
            broker_w.write_all(&p.encode()).await?;
        }
        Ok::<(), GuardError>(())
    };
    let result = tokio::select! {
        r = up => r,
        r = &mut down => r.unwrap_or(Ok(())),
    };
    down.abort();
    let _ = broker_w.shutdown().await;
    let _ = client_w.lock().await.shutdown().await;
    result
}

/// The filter of a shared subscription `$share/GROUP/FILTER`, or `f` itself.
fn shared_filter(f: &str) -> &str {
    f.strip_prefix("$share/").and_then(|rest| rest.split_once('/')).map(|(_, filter)| filter).unwrap_or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_round_trips_with_new_credentials() {
        let c = Connect {
            flags: 0x02 | 0x04 | 0x08,
            keep_alive: 30,
            client_id: "dev".into(),
            will: Some(("scf/W/devices/dev/telemetry".into(), b"bye".to_vec())),
            username: Some("dev".into()),
            password: Some(b"pw".to_vec()),
        };
        let p = encode_connect(&c, "dev:dev", "inner", "secret");
        let bytes = p.encode();
        let back = parse_connect(&Packet { first: bytes[0], body: bytes[2..].to_vec() }).ok().expect("parses");
        assert_eq!(back.client_id, "dev:dev");
        assert_eq!(back.username.as_deref(), Some("inner"));
        assert_eq!(back.password.as_deref(), Some(&b"secret"[..]));
        assert_eq!(back.will, c.will);
        assert_eq!(back.flags & 0x3e, c.flags & 0x3e);
        assert_eq!(back.keep_alive, 30);
    }

    #[test]
    fn shared_subscriptions_are_checked_by_their_filter() {
        assert_eq!(shared_filter("$share/scf-ingest/scf/+/devices/+/telemetry"), "scf/+/devices/+/telemetry");
        assert_eq!(shared_filter("scf/#"), "scf/#");
        assert_eq!(shared_filter("$share/g"), "$share/g");
    }

    #[test]
    fn remaining_length_encoding() {
        for n in [0usize, 127, 128, 16_383, 16_384, 70_000] {
            let p = Packet { first: 0x30, body: vec![0; n] };
            let e = p.encode();
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
            let back = rt.block_on(read_packet(&mut &e[..], usize::MAX)).expect("read").expect("packet");
            assert_eq!(back.body.len(), n);
        }
    }
}
