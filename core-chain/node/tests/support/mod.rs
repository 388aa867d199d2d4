//! Helpers shared by the process-cluster tests.

use std::time::{Duration, Instant};

use scf_node::client::NodeClient;

/// The node's committed height, `None` while its API does not answer.
pub async fn height(c: &NodeClient) -> Option<u64> {
    c.status().await.ok().map(|s| s.height)
}

/// Poll until the node has committed height `h`; fails the test after `timeout`.
pub async fn wait_height(c: &NodeClient, h: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if height(c).await.is_some_and(|x| x >= h) {
            return;
        }
        assert!(Instant::now() < deadline, "{} did not reach height {h} (at {:?})", c.base(), height(c).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
