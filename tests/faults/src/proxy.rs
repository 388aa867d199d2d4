//! The userspace link: a TCP proxy per (from, to) pair and port that delays what it forwards.
//!
//! Each chunk read from one side is delivered to the other after `latency ± jitter`; with probability
//! `loss` a chunk is held for one extra retransmission timeout (200 ms plus the round trip), which is what
//! a lost segment costs a TCP stream; later chunks wait behind it, as they would behind a retransmission.
//! Delivery never reorders. The parameters of a link change while it runs (a WAN phase starts and ends).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::rng::Rng;

/// What a link does to traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Shape {
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// 0..=1
    pub loss: f64,
}

/// One direction-agnostic link's shape and its random draws.
#[derive(Debug)]
pub struct Link {
    shape: Mutex<Shape>,
    rng: Mutex<Rng>,
}

/// The extra wait of a chunk whose segment was "lost": a minimum retransmission timeout.
const RTO_MS: u64 = 200;

impl Link {
    pub fn new(seed: u64) -> Arc<Link> {
        Arc::new(Link { shape: Mutex::new(Shape::default()), rng: Mutex::new(Rng::new(seed)) })
    }

    pub fn set(&self, shape: Shape) {
        if let Ok(mut s) = self.shape.lock() {
            *s = shape;
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape.lock().map(|s| *s).unwrap_or_default()
    }

    /// How long the next chunk waits.
    fn delay(&self) -> Duration {
        let s = self.shape();
        if s == Shape::default() {
            return Duration::ZERO;
        }
        let Ok(mut rng) = self.rng.lock() else { return Duration::ZERO };
        let jitter = if s.jitter_ms > 0 { rng.range(0, 2 * s.jitter_ms) as i64 - s.jitter_ms as i64 } else { 0 };
        let mut ms = (s.latency_ms as i64 + jitter).max(0) as u64;
        if s.loss > 0.0 && rng.chance(s.loss) {
            ms += RTO_MS + 2 * s.latency_ms;
        }
        Duration::from_millis(ms)
    }
}

/// Accept on `listen`, forward each connection to `target` through `link`. Runs until aborted.
pub async fn serve(listen: SocketAddr, target: SocketAddr, link: Arc<Link>) -> std::io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(listen).await?;
    Ok(tokio::spawn(async move {
        let mut conns: Vec<JoinHandle<()>> = Vec::new();
        loop {
            let Ok((inbound, _)) = listener.accept().await else { continue };
            conns.retain(|c| !c.is_finished());
            let link = link.clone();
            conns.push(tokio::spawn(async move {
                let Ok(Ok(outbound)) = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(target)).await
                else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                let a = tokio::spawn(pump(ri, wo, link.clone()));
                let b = tokio::spawn(pump(ro, wi, link));
                let _ = tokio::join!(a, b);
            }));
        }
    }))
}

/// Read chunks from `r` and write each to `w` at its delivery time, in order.
async fn pump(mut r: tokio::net::tcp::OwnedReadHalf, mut w: tokio::net::tcp::OwnedWriteHalf, link: Arc<Link>) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(4096);
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if w.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = Instant::now();
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let at = (Instant::now() + link.delay()).max(last);
        last = at;
        if tx.send((at, buf[..n].to_vec())).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_in_order_with_the_configured_delay() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let link = Link::new(1);
        link.set(Shape { latency_ms: 50, jitter_ms: 0, loss: 0.0 });
        let probe = TcpListener::bind("127.0.0.1:0").await.expect("probe");
        let listen = probe.local_addr().expect("addr");
        drop(probe);
        let task = serve(listen, target, link).await.expect("serve");
        let mut c = TcpStream::connect(listen).await.expect("connect");
        let start = std::time::Instant::now();
        for i in 0..20u8 {
            c.write_all(&[i]).await.expect("write");
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < 20 {
            let n = c.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, (0..20u8).collect::<Vec<_>>(), "in order, nothing lost");
        // There and back through the proxy: at least two one-way delays.
        assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
        task.abort();
    }
}
