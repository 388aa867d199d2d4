//! `scf`: the one binary. It only parses the command line and wires the crates together; each
//! subcommand's work lives in the crate that owns it, and this is where the business modules are
//! handed to the node (which knows none).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use clap::{Args, Parser, Subcommand};
use scf_ledger::crypto::KeyPair;

#[derive(Parser)]
#[command(
    name = "scf",
    version,
    about = "Supply-chain finance and traceability on a consortium chain (国密 SM2/SM3/SM4)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the all-in-one demo: one validator, embedded MQTT broker, simulated devices, GraphQL + UI.
    Demo(DemoArgs),
    /// Run one consortium member from its config file: its node and, as configured, the GraphQL API and
    /// web UI, the workflow timers and IoT ingestion (`scf member init` writes an example config).
    #[command(args_conflicts_with_subcommands = true)]
    Member {
        #[command(subcommand)]
        cmd: Option<MemberCmd>,
        /// The member config file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Member administration: the organisation's first admin.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Run one node of a consortium, optionally with the GraphQL API (and web UI) beside it.
    Node {
        #[command(flatten)]
        node: scf_node::cli::NodeArgs,
        #[command(flatten)]
        api: scf::serve::ApiArgs,
    },
    /// Run the IoT ingestion service against a node's client API.
    Ingest(scf_iot_ingest::IngestArgs),
    /// Build a genesis file from organisations, validators and parameters.
    Genesis(scf_node::cli::GenesisArgs),
    /// Generate an SM2 key pair (PKCS#8 PEM); never overwrites an existing key.
    Keygen(KeygenArgs),
    /// Start or stop a local multi-process cluster on loopback.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Verify a block's commit certificate (2f+1 SM2 precommits) against the genesis validator set.
    VerifyCert(scf_node::cli::VerifyCertArgs),
    /// IoT devices that sign readings at the source.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// The organisation's certificate authority: SM2 certificates for nodes, TLS servers, clients,
    /// users and devices, and their revocation (init | issue | revoke | crl | verify).
    Ca(scf_ca::cli::CaArgs),
    /// The embedded MQTT broker's users (Mosquitto's password-file format).
    #[command(subcommand)]
    Mqtt(MqttCmd),
    /// Benchmarks printing one JSON object (chain | ingest | api).
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum MemberCmd {
    /// Write a commented example member config (never over an existing file).
    Init {
        #[arg(long, default_value = "member.toml")]
        out: PathBuf,
        /// This member's organisation id on chain.
        #[arg(long, default_value = "ORG")]
        org: String,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create the organisation's first admin with its on-chain key and a one-time password.
    Bootstrap(scf::admin::BootstrapArgs),
}

#[derive(Subcommand)]
enum ClusterCmd {
    /// Generate keys, genesis and configs (first time) and start the node processes.
    Up(scf_node::cli::ClusterUpArgs),
    /// Stop the node processes.
    Down(scf_node::cli::ClusterDownArgs),
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Simulated devices that sign readings at the source and publish them over MQTT.
    Simulate(scf_iot_ingest::SimulateArgs),
}

#[derive(Subcommand)]
enum MqttCmd {
    /// Add a user (a device: username = its device id) to a password file, or give it a new password.
    /// Prints a generated password once, unless --password-stdin.
    Passwd {
        /// The password file (created with mode 0600; Mosquitto's `password_file` reads it too).
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// End-to-end throughput of signed voucher transfers on a local cluster.
    Chain(scf::bench_chain::BenchChainArgs),
    /// Device readings per second from publish to durable storage.
    Ingest(scf_iot_ingest::BenchIngestArgs),
    /// The GraphQL API under concurrent clients: the public lot page, or signed-in members' work.
    Api(scf::bench_api::BenchApiArgs),
}

#[derive(Args)]
struct DemoArgs {
    /// HTTP port of the web UI and GraphQL API.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Data directory (RocksDB, SQLite read model, keys, ingestion store).
    #[arg(long, default_value = "./scf-data")]
    data: PathBuf,
    /// Delete the data directory first and seed everything anew.
    #[arg(long)]
    reset: bool,
    /// Seeds directory (consortium.toml, story.toml). Default: ./seeds, else the source tree's.
    #[arg(long)]
    seeds: Option<PathBuf>,
    /// Built web UI. Default: ./ui/dist, else the source tree's.
    #[arg(long)]
    ui: Option<PathBuf>,
    /// Listen on all interfaces instead of 127.0.0.1 (every demo login is published: needs --yes).
    #[arg(long)]
    public: bool,
    /// Confirm --public.
    #[arg(long, requires = "public")]
    yes: bool,
    /// Also serve the node's client API (`/status`, `/block/{h}`, `/proof/state`, …) on this loopback
    /// address, e.g. 127.0.0.1:26658 — what a member's node exposes to its own services.
    #[arg(long)]
    node_api: Option<std::net::SocketAddr>,
}

/// `./rel` if it exists, else `rel` in the source tree this binary was built from.
fn local_or_source(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

fn bench_api(args: &scf::bench_api::BenchApiArgs) -> anyhow::Result<()> {
    let seeds = args.seeds.clone().unwrap_or_else(|| local_or_source("seeds"));
    let r = scf::bench_api::run(args, &seeds)?;
    if args.json {
        return print_json(&r);
    }
    println!(
        "{:?} mix on {:?}: {} clients, {} requests ({} errors): {:.0} req/s; reads {} p50 {:.1} ms p99 {:.1} ms; \
         mutations {} p50 {:.1} ms p99 {:.1} ms; SM2-verify ceiling {:.0}/s (RustCrypto), {:.0}/s (chain's verifier)",
        r.mix,
        r.db,
        r.clients,
        r.requests,
        r.errors,
        r.requests_per_s,
        r.reads,
        r.reads_p50_ms,
        r.reads_p99_ms,
        r.mutations,
        r.mutation_p50_ms,
        r.mutation_p99_ms,
        r.sm2_verify_ceiling_per_s,
        r.sm2_fast_ceiling_per_s
    );
    Ok(())
}

fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    // Quiet by default so the banner stays readable; RUST_LOG=info shows the node and services. With one
    // validator, libp2p reports every gossip publish as having no peers, and the embedded broker logs
    // each client disconnect as an error: both are expected here.
    let quiet = "warn,arc_malachitebft_network=off,rumqttd=off";
    scf_node::cli::init_logging_with(quiet);
    let opts = scf::demo::DemoOptions {
        port: args.port,
        data: args.data.clone(),
        reset: args.reset,
        seeds: args.seeds.clone().unwrap_or_else(|| local_or_source("seeds")),
        ui: args.ui.clone().unwrap_or_else(|| local_or_source("ui/dist")),
        public: args.public,
        confirm_public: args.yes,
        node_api: args.node_api,
    };
    scf::demo::run(opts)
}

#[derive(Args)]
struct KeygenArgs {
    /// Directory to write the keys into: `key.pem` (private, mode 0600) and `key.pub.pem` for an
    /// account; with `--node`, a node's consensus key, libp2p identity and validator bundle.
    #[arg(long)]
    out: PathBuf,
    /// Generate a node's keys under this name instead of an account key: `consensus.pem`, `p2p.key`
    /// and `validator.json` (the bundle a genesis takes with `--validator`).
    #[arg(long)]
    node: Option<String>,
    /// With `--node`: only a libp2p identity (a non-voting observer, e.g. a regulator's node).
    #[arg(long, requires = "node")]
    observer: bool,
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    if let Some(name) = &args.node {
        return scf_node::cli::keygen_cmd(&scf_node::cli::KeygenArgs {
            out: args.out.clone(),
            name: name.clone(),
            observer: args.observer,
        });
    }
    let private = args.out.join("key.pem");
    let public = args.out.join("key.pub.pem");
    for p in [&private, &public] {
        if p.exists() {
            anyhow::bail!("{}: already exists; refusing to overwrite a key", p.display());
        }
    }
    std::fs::create_dir_all(&args.out).with_context(|| args.out.display().to_string())?;
    let key = KeyPair::generate()?;
    scf::files::write_new(&private, key.to_pkcs8_pem()?.as_bytes(), true)?;
    scf::files::write_new(&public, key.public().to_pem()?.as_bytes(), false)?;
    println!("address    {}", key.address());
    println!("public key {}", key.public().to_hex());
    println!("wrote      {} and {}", private.display(), public.display());
    Ok(())
}

/// `scf genesis`: each `--org` is checked against the `org` module's own genesis type first, so an
/// error names the spec and the field.
fn genesis(args: &scf_node::cli::GenesisArgs) -> anyhow::Result<()> {
    for spec in &args.orgs {
        let v = scf_node::cli::parse_org(spec)?;
        serde_json::from_value::<scf_domain::org::GenesisOrg>(v).map_err(|e| anyhow!("--org {spec:?}: {e}"))?;
    }
    scf_node::cli::genesis_cmd(args, scf_domain::modules())
}

fn cluster(cmd: &ClusterCmd) -> anyhow::Result<()> {
    match cmd {
        ClusterCmd::Up(a) => {
            let exe = std::env::current_exe().context("path of the scf executable")?;
            for n in scf_node::cli::cluster_up_with(a, &exe, scf_domain::modules())?.nodes {
                println!("{n}");
            }
            Ok(())
        }
        ClusterCmd::Down(a) => scf_node::cli::cluster_down(a),
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keygen(args) => keygen(&args),
        Command::Member { cmd: Some(MemberCmd::Init { out, org }), .. } => scf::member::init(&out, &org),
        Command::Member { cmd: None, config: Some(config) } => {
            scf_node::cli::init_logging();
            scf::member::run(scf::member::MemberConfig::load(&config)?)
        }
        Command::Member { cmd: None, config: None } => {
            anyhow::bail!("scf member: give --config FILE, or `scf member init` to write one")
        }
        Command::Admin(AdminCmd::Bootstrap(args)) => scf::admin::bootstrap(&args),
        Command::Demo(args) => demo(&args),
        Command::Node { node, api } if api.listen.is_some() => {
            scf_node::cli::init_logging();
            scf::serve::node_with_api(&node.config, &api)
        }
        Command::Node { node, .. } => {
            scf_node::cli::init_logging();
            scf_node::cli::run_node(&node, scf_domain::modules())
        }
        Command::Ingest(args) => {
            scf_node::cli::init_logging();
            scf_iot_ingest::run_ingest(args)
        }
        Command::Genesis(args) => genesis(&args),
        Command::Cluster(cmd) => cluster(&cmd),
        Command::VerifyCert(args) => scf_node::cli::verify_cert_cmd(&args),
        Command::Device(DeviceCmd::Simulate(args)) => print_json(&scf_iot_ingest::simulate(args)?),
        Command::Ca(args) => {
            println!("{}", scf_ca::cli::run(args, std::time::SystemTime::now())?);
            Ok(())
        }
        Command::Mqtt(MqttCmd::Passwd { file, username, password_stdin }) => {
            mqtt_passwd(&file, &username, password_stdin)
        }
        Command::Bench(BenchCmd::Chain(args)) => scf::bench_chain::bench_chain(&args).map(|_| ()),
        Command::Bench(BenchCmd::Ingest(args)) => print_json(&scf_iot_ingest::bench_ingest(args)?),
        Command::Bench(BenchCmd::Api(args)) => bench_api(&args),
    }
}

/// `scf mqtt passwd`.
fn mqtt_passwd(file: &Path, username: &str, from_stdin: bool) -> anyhow::Result<()> {
    use scf_iot_ingest::mqtt_access::{generate_password, set_password};
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("password: cannot read standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        generate_password()?
    };
    set_password(file, username, &password)?;
    if from_stdin {
        eprintln!("{}: password of {username:?} set", file.display());
    } else {
        eprintln!("{}: password of {username:?} set; it is shown once:", file.display());
        println!("{password}");
    }
    Ok(())
}

/// The allocator: block execution and admission allocate many short-lived buffers, which glibc's
/// malloc served at about a tenth of a node's CPU time under load (perf); mimalloc does it for less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scf_node::cli::disable_transparent_huge_pages();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
