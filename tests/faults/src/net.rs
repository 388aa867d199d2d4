//! The network: one Linux network namespace per validator, each joined to the harness's (root) namespace
//! by a veth pair. Nothing routes between namespaces: every byte between two validators goes through a
//! userspace [`crate::proxy`] listening on an address of the root side, one address per (from, to) pair.
//!
//! ```text
//!  ns n0: 10.B.0.2/32 ── veth ── root: 10.B.0.1/24 (harness, node API clients)
//!         routes: 10.B.0.1, 10.B.0.(10+j) for each peer j      10.B.0.(10+j) = proxy 0→j ──► 10.B.j.2
//! ```
//! Faults: a partition of a pair removes the routes to that pair's proxy addresses in both namespaces;
//! isolating a node sets its link down. Latency, jitter and loss are the proxies' (this kernel has no
//! `tc netem`).

use std::process::Command;

/// A failed `ip` command, with what it printed.
#[derive(Debug, thiserror::Error)]
#[error("{cmd}: {reason}")]
pub struct NetError {
    pub cmd: String,
    pub reason: String,
}

fn ip(args: &[&str]) -> Result<(), NetError> {
    let cmd = format!("ip {}", args.join(" "));
    let out =
        Command::new("ip").args(args).output().map_err(|e| NetError { cmd: cmd.clone(), reason: e.to_string() })?;
    if !out.status.success() {
        return Err(NetError { cmd, reason: String::from_utf8_lossy(&out.stderr).trim().to_string() });
    }
    Ok(())
}

/// The namespaces and links of one run. Dropping it deletes them.
#[derive(Debug)]
pub struct Net {
    /// Short run tag in every name (namespace, interface), so runs can share a machine.
    pub tag: String,
    /// Second octet of every address of this run.
    pub octet: u8,
    pub n: usize,
    created: usize,
}

impl Net {
    /// Create `n` namespaces. `tag` is 1–5 lowercase alphanumerics; `octet` picks the run's 10.x/16.
    pub fn create(tag: &str, octet: u8, n: usize) -> Result<Net, NetError> {
        if tag.is_empty() || tag.len() > 5 || !tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            return Err(NetError { cmd: "net".into(), reason: format!("tag {tag:?}: 1-5 of [a-z0-9]") });
        }
        if n == 0 || n > 40 {
            return Err(NetError { cmd: "net".into(), reason: format!("{n} nodes: 1..=40") });
        }
        let mut net = Net { tag: tag.to_string(), octet, n, created: 0 };
        for i in 0..n {
            net.create_node(i)?;
            net.created = i + 1;
        }
        Ok(net)
    }

    pub fn ns(&self, i: usize) -> String {
        format!("sf{}n{i}", self.tag)
    }
    fn host_if(&self, i: usize) -> String {
        format!("sf{}h{i}", self.tag)
    }
    fn node_if(&self, i: usize) -> String {
        format!("sf{}p{i}", self.tag)
    }
    /// Where node `i` listens (inside its namespace).
    pub fn node_addr(&self, i: usize) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(10, self.octet, i as u8, 2)
    }
    /// The root side of node `i`'s link.
    pub fn gateway(&self, i: usize) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(10, self.octet, i as u8, 1)
    }
    /// The proxy address node `i` dials to reach node `j`.
    pub fn proxy_addr(&self, i: usize, j: usize) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(10, self.octet, i as u8, 10 + j as u8)
    }

    fn create_node(&self, i: usize) -> Result<(), NetError> {
        let (ns, h, p) = (self.ns(i), self.host_if(i), self.node_if(i));
        ip(&["netns", "add", &ns])?;
        ip(&["link", "add", &h, "type", "veth", "peer", "name", &p])?;
        ip(&["link", "set", &p, "netns", &ns])?;
        ip(&["addr", "add", &format!("{}/24", self.gateway(i)), "dev", &h])?;
        for j in 0..self.n {
            if j != i {
                ip(&["addr", "add", &format!("{}/24", self.proxy_addr(i, j)), "dev", &h])?;
            }
        }
        ip(&["link", "set", &h, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        ip(&["-n", &ns, "addr", "add", &format!("{}/32", self.node_addr(i)), "dev", &p])?;
        ip(&["-n", &ns, "link", "set", &p, "up"])?;
        self.routes(i)
    }

    /// (Re)install node `i`'s routes: to its gateway and to the proxy of every peer.
    fn routes(&self, i: usize) -> Result<(), NetError> {
        let (ns, p) = (self.ns(i), self.node_if(i));
        ip(&["-n", &ns, "route", "replace", &format!("{}/32", self.gateway(i)), "dev", &p])?;
        for j in 0..self.n {
            if j != i {
                self.mend_one(i, j)?;
            }
        }
        Ok(())
    }

    fn mend_one(&self, i: usize, j: usize) -> Result<(), NetError> {
        ip(&["-n", &self.ns(i), "route", "replace", &format!("{}/32", self.proxy_addr(i, j)), "dev", &self.node_if(i)])
    }

    /// Cut the pair (i, j): neither can reach the other's proxy any more (route removal, both sides).
    pub fn cut(&self, i: usize, j: usize) -> Result<(), NetError> {
        for (a, b) in [(i, j), (j, i)] {
            // Already absent is fine (overlapping faults).
            let _ = ip(&["-n", &self.ns(a), "route", "del", &format!("{}/32", self.proxy_addr(a, b))]);
        }
        Ok(())
    }

    /// Restore the pair (i, j).
    pub fn mend(&self, i: usize, j: usize) -> Result<(), NetError> {
        self.mend_one(i, j)?;
        self.mend_one(j, i)
    }

    /// Take node `i`'s link down (it reaches nothing, and nothing reaches it, the harness included).
    pub fn link_down(&self, i: usize) -> Result<(), NetError> {
        ip(&["link", "set", &self.host_if(i), "down"])
    }

    /// Bring node `i`'s link back up, with its routes.
    pub fn link_up(&self, i: usize) -> Result<(), NetError> {
        ip(&["link", "set", &self.host_if(i), "up"])?;
        self.routes(i)
    }

    /// Undo every fault: all links up, all routes back.
    pub fn heal(&self) -> Result<(), NetError> {
        for i in 0..self.n {
            self.link_up(i)?;
        }
        Ok(())
    }

    /// Is `octet`'s 10.x/16 unused on this machine (no address or route in it)?
    pub fn octet_free(octet: u8) -> bool {
        let prefix = format!("10.{octet}.");
        let used = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains(&prefix))
                .unwrap_or(true)
        };
        !used(&["-4", "addr"]) && !used(&["-4", "route"])
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.created {
            let _ = ip(&["netns", "del", &self.ns(i)]);
            // Deleting the namespace destroys the pair; this only matters if the move into it failed.
            let _ = ip(&["link", "del", &self.host_if(i)]);
        }
    }
}
