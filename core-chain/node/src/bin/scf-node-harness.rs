//! `scf-node-harness`: nodes with the test-only `kv` module and no business rules, for this crate's
//! process tests (consensus, sync, gossip, crashes). Operators run `scf node`, which runs the same node
//! with the business modules.

use clap::{Parser, Subcommand};
use scf_node::cli::{ClusterDownArgs, ClusterUpArgs, GenesisArgs, KeygenArgs, NodeArgs, VerifyCertArgs};
use scf_node::kv_module;

/// The allocator the `scf` binary uses, so the harness behaves like it under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "scf-node-harness", about = "Consensus nodes with the test-only kv module (for scf-node's tests)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Node(NodeArgs),
    Keygen(KeygenArgs),
    Genesis(GenesisArgs),
    #[command(subcommand)]
    Cluster(ClusterCmd),
    VerifyCert(VerifyCertArgs),
}

#[derive(Subcommand)]
enum ClusterCmd {
    Up(ClusterUpArgs),
    Down(ClusterDownArgs),
}

fn main() -> anyhow::Result<()> {
    scf_node::cli::disable_transparent_huge_pages();
    scf_node::cli::init_logging();
    match Cli::parse().cmd {
        Cmd::Node(a) => scf_node::cli::run_node(&a, kv_module::modules()),
        Cmd::Keygen(a) => scf_node::cli::keygen_cmd(&a),
        Cmd::Genesis(a) => scf_node::cli::genesis_cmd(&a, kv_module::modules()),
        Cmd::Cluster(ClusterCmd::Up(a)) => {
            let exe = std::env::current_exe()?;
            scf_node::cli::cluster_up_with(&a, &exe, kv_module::modules()).map(|c| {
                for n in c.nodes {
                    println!("{n}");
                }
            })
        }
        Cmd::Cluster(ClusterCmd::Down(a)) => scf_node::cli::cluster_down(&a),
        Cmd::VerifyCert(a) => scf_node::cli::verify_cert_cmd(&a),
    }
}
