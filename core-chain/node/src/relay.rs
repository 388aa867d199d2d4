//! Forwarding admitted transactions to peers, so that whichever validator proposes next has them.
//!
//! Malachite 0.8.2's channel API exposes no application gossip topic (the network actor only carries
//! consensus messages, proposal parts, liveness and sync), so transactions travel between nodes over
//! the peers' client APIs, batched. Relay is best effort: a transaction a peer misses is still included
//! when the receiving node proposes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

use crate::chain::Chain;
use crate::client::NodeClient;

const MAX_BATCH: usize = 2000;
const QUEUE: usize = 100_000;

pub(crate) fn spawn(chain: Arc<Chain>, peers: Vec<String>) -> JoinHandle<()> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    chain.set_relay(tx);
    let clients: Vec<NodeClient> = peers.into_iter().map(NodeClient::new).collect();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            // Gather what else is queued (or arrives within a few ms) into one request per peer.
            let deadline = tokio::time::Instant::now() + Duration::from_millis(5);
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(raw)) => batch.push(raw),
                    _ => break,
                }
            }
            let batch = Arc::new(batch);
            for c in &clients {
                let c = c.clone();
                let batch = batch.clone();
                tokio::spawn(async move {
                    if let Err(e) = c.relay(&batch).await {
                        debug!(peer = c.base(), "relay failed: {e}");
                    }
                });
            }
        }
    })
}
