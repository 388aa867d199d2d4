//! `scf-node`: the node's subcommands without the rest of `scf` (used by the node crate's process
//! tests; `scf` exposes the same subcommands).

use clap::{Parser, Subcommand};
use scf_node::bench::BenchChainArgs;
use scf_node::cli::{ClusterDownArgs, ClusterUpArgs, GenesisArgs, KeygenArgs, NodeArgs, VerifyCertArgs};

/// The allocator: block execution and admission allocate many short-lived buffers, which glibc's
/// malloc served at about a tenth of a node's CPU time under load (perf); mimalloc does it for less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "scf-node", about = "Run and manage consortium chain nodes")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one node.
    Node(NodeArgs),
    /// Generate a node's keys.
    Keygen(KeygenArgs),
    /// Build a genesis file.
    Genesis(GenesisArgs),
    /// Local clusters on loopback.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Verify a block's commit certificate offline.
    VerifyCert(VerifyCertArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum ClusterCmd {
    Up(ClusterUpArgs),
    Down(ClusterDownArgs),
}

#[derive(Subcommand)]
enum BenchCmd {
    Chain(BenchChainArgs),
}

fn main() -> anyhow::Result<()> {
    scf_node::cli::disable_transparent_huge_pages();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Node(a) => scf_node::cli::run_node(&a),
        Cmd::Keygen(a) => scf_node::cli::keygen_cmd(&a),
        Cmd::Genesis(a) => scf_node::cli::genesis_cmd(&a),
        Cmd::Cluster(ClusterCmd::Up(a)) => scf_node::cli::cluster_up(&a).map(|c| {
            for n in c.nodes {
                println!("{n}");
            }
        }),
        Cmd::Cluster(ClusterCmd::Down(a)) => scf_node::cli::cluster_down(&a),
        Cmd::VerifyCert(a) => scf_node::cli::verify_cert_cmd(&a),
        Cmd::Bench(BenchCmd::Chain(a)) => scf_node::bench::bench_chain(&a).map(|_| ()),
    }
}
