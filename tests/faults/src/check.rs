//! The invariants checked after every schedule, once everything is healed.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use scf_client::wire::TxStatus;
use scf_client::NodeClient;
use scf_ledger::crypto::Hash32;
use serde::Serialize;
use tokio::time::Instant;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

fn v(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

const CALL: Duration = Duration::from_secs(3);

async fn height(c: &NodeClient) -> Option<u64> {
    match tokio::time::timeout(CALL, c.status()).await {
        Ok(Ok(s)) => Some(s.height),
        _ => None,
    }
}

/// Every node reaches one height past the highest seen now, and all hold the same block (hash, state root)
/// there. Returns the height compared.
pub async fn convergence(clients: &[NodeClient], timeout: Duration) -> (u64, Vec<Violation>) {
    let deadline = Instant::now() + timeout;
    let mut now = Vec::new();
    for c in clients {
        now.push(height(c).await.unwrap_or(0));
    }
    let target = now.iter().copied().max().unwrap_or(0) + 1;
    let mut heights = now;
    loop {
        for (i, c) in clients.iter().enumerate() {
            if heights[i] < target {
                heights[i] = height(c).await.unwrap_or(heights[i]);
            }
        }
        if heights.iter().all(|h| *h >= target) {
            break;
        }
        if Instant::now() > deadline {
            return (
                target,
                vec![v("liveness_after_heal", format!("height {target} not reached in {timeout:?}: {heights:?}"))],
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut blocks = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        match tokio::time::timeout(CALL, c.block(target)).await {
            Ok(Ok(Some(b))) => blocks.push((i, b.hash.clone(), b.block.header.state_root)),
            other => return (target, vec![v("same_block", format!("validator-{i}: block {target}: {other:?}"))]),
        }
    }
    let mut out = Vec::new();
    if let Some((_, hash0, root0)) = blocks.first().cloned() {
        for (i, hash, root) in &blocks {
            if *hash != hash0 || *root != root0 {
                out.push(v(
                    "same_block",
                    format!(
                        "validator-{i} holds block {target} {hash} (state {root}), validator-0 {hash0} (state {root0})"
                    ),
                ));
            }
        }
    }
    (target, out)
}

/// Every transaction a client saw committed is committed at the same height on every node.
pub async fn committed_everywhere(clients: &[NodeClient], seen: &[(Hash32, u64)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (id, h) in seen {
        for (i, c) in clients.iter().enumerate() {
            let st = tokio::time::timeout(CALL, c.tx_status(id)).await;
            match st {
                Ok(Ok(TxStatus::Committed { height, .. })) if height == *h => {}
                other => out.push(v(
                    "committed_everywhere",
                    format!(
                        "tx {id} seen committed at {h}; validator-{i} says {:?}",
                        other.map(|r| r.map(|s| summary(&s)))
                    ),
                )),
            }
        }
    }
    out
}

fn summary(s: &TxStatus) -> String {
    match s {
        TxStatus::Committed { height, .. } => format!("committed at {height}"),
        TxStatus::Pending => "pending".into(),
        TxStatus::Unknown => "unknown".into(),
    }
}

/// No validator signed two different proposals, prevotes or precommits for one height and round (its
/// signing journal, `signed.log`).
pub fn journal(node: usize, path: &Path) -> Vec<Violation> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![v("signing_journal", format!("validator-{node}: {}: {e}", path.display()))],
    };
    let mut signed: HashMap<(&str, &str, &str), &str> = HashMap::new();
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (k, line) in lines.iter().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [kind, h, r, value] = parts.as_slice() else {
            // A kill can cut the last line short; anything else is a malformed journal.
            if k + 1 < lines.len() {
                out.push(v("signing_journal", format!("validator-{node}: malformed line {line:?}")));
            }
            continue;
        };
        if let Some(prev) = signed.insert((kind, h, r), value) {
            if prev != *value {
                out.push(v(
                    "no_double_sign",
                    format!("validator-{node} signed {kind} at height {h} round {r} for {prev} and for {value}"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_check_finds_a_double_sign_and_accepts_a_resigned_vote() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("signed.log");
        std::fs::write(&p, "prevote 5 0 aa\nprecommit 5 0 aa\nprevote 5 0 aa\nprevote 5 1 nil\nproposal 6 0 bb\n")
            .expect("write");
        assert!(journal(0, &p).is_empty());
        std::fs::write(&p, "precommit 7 0 aa\nprecommit 7 0 bb\nprecommit 7").expect("write");
        let out = journal(1, &p);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].invariant, "no_double_sign");
    }
}
