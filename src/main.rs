//! `scf`: the one binary. It only parses the command line and wires the crates together; each
//! subcommand's work lives in the crate that owns it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Run one node of a consortium, optionally with the GraphQL API (and web UI) beside it.
    Node {
        #[arg(long)]
        config: PathBuf,
        #[command(flatten)]
        api: scf::serve::ApiArgs,
    },
    /// Run the IoT ingestion service against a node's client API.
    Ingest(scf_iot_ingest::IngestArgs),
    /// Build a genesis file from organisations, validators and parameters.
    #[command(disable_help_flag = true)]
    Genesis {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Generate an SM2 key pair (PKCS#8 PEM); never overwrites an existing key.
    Keygen(KeygenArgs),
    /// Start or stop a local multi-process cluster on loopback.
    #[command(disable_help_flag = true)]
    Cluster {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Verify a block's commit certificate (2f+1 SM2 precommits) against the genesis validator set.
    #[command(disable_help_flag = true)]
    VerifyCert {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// IoT devices that sign readings at the source.
    #[command(disable_help_flag = true)]
    Device {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks printing one JSON object (chain | ingest | api).
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
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
    /// Listen on all interfaces instead of 127.0.0.1.
    #[arg(long)]
    public: bool,
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

fn bench_api(argv: &[String]) -> Result<(), String> {
    #[derive(Parser)]
    #[command(name = "scf bench api")]
    struct Wrap {
        #[command(flatten)]
        args: scf::bench_api::BenchApiArgs,
    }
    let it = std::iter::once("scf bench api".to_string()).chain(argv.iter().cloned());
    let w = match Wrap::try_parse_from(it) {
        Ok(w) => w,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Err("invalid arguments".into()) } else { Ok(()) };
        }
    };
    let seeds = w.args.seeds.clone().unwrap_or_else(|| local_or_source("seeds"));
    let r = scf::bench_api::run(&w.args, &seeds).map_err(|e| format!("{e:#}"))?;
    if w.args.json {
        println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
    } else {
        println!(
            "{} clients, {} requests ({} errors): {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms; {} steps per answer; \
             SM2-verify ceiling {:.0}/s",
            r.clients,
            r.requests,
            r.errors,
            r.requests_per_s,
            r.p50_ms,
            r.p99_ms,
            r.steps_per_answer,
            r.sm2_verify_ceiling_per_s
        );
    }
    Ok(())
}

fn demo(args: &DemoArgs) -> Result<(), String> {
    // Quiet by default so the banner stays readable; RUST_LOG=info shows the node and services. With one
    // validator, libp2p reports every gossip publish as having no peers, and the embedded broker logs
    // each client disconnect as an error: both are expected here.
    let quiet = "warn,arc_malachitebft_network=off,rumqttd=off";
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| quiet.into()))
        .with_writer(std::io::stderr)
        .try_init();
    let opts = scf::demo::DemoOptions {
        port: args.port,
        data: args.data.clone(),
        reset: args.reset,
        seeds: args.seeds.clone().unwrap_or_else(|| local_or_source("seeds")),
        ui: args.ui.clone().unwrap_or_else(|| local_or_source("ui/dist")),
        public: args.public,
    };
    scf::demo::run(opts).map_err(|e| format!("{e:#}"))
}

#[derive(Args)]
struct KeygenArgs {
    /// Directory to write `key.pem` (private, mode 0600) and `key.pub.pem` into.
    #[arg(long)]
    out: PathBuf,
}

fn keygen(args: &KeygenArgs) -> Result<(), String> {
    let private = args.out.join("key.pem");
    let public = args.out.join("key.pub.pem");
    for p in [&private, &public] {
        if p.exists() {
            return Err(format!("{}: already exists; refusing to overwrite a key", p.display()));
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
    scf::files::write_new(&private, pem.as_bytes(), true).map_err(|e| e.to_string())?;
    scf::files::write_new(&public, key.public().to_pem().map_err(|e| e.to_string())?.as_bytes(), false)
        .map_err(|e| e.to_string())?;
    println!("address    {}", key.address());
    println!("public key {}", key.public().to_hex());
    println!("wrote      {} and {}", private.display(), public.display());
    Ok(())
}

/// The allocator: block execution and admission allocate many short-lived buffers, which glibc's
/// malloc served at about a tenth of a node's CPU time under load (perf); mimalloc does it for less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scf_node::cli::disable_transparent_huge_pages();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Keygen(args) => keygen(args),
        Command::Demo(args) => demo(args),
        Command::Node { config, api } if api.listen.is_some() => {
            scf_node::cli::init_logging();
            scf::serve::node_with_api(config, api).map_err(|e| format!("{e:#}"))
        }
        Command::Node { config, .. } => scf_node::cli::node_command(config),
        Command::Ingest(args) => {
            scf_node::cli::init_logging();
            scf_iot_ingest::run_ingest(args.clone()).map_err(|e| format!("{e:#}"))
        }
        Command::Genesis { args } => scf_node::cli::genesis_command(args),
        Command::Cluster { args } => scf_node::cli::cluster_command(args),
        Command::VerifyCert { args } => scf_node::cli::verify_cert_command(args),
        Command::Device { args } => scf_iot_ingest::cli::device_command(args),
        Command::Bench { args } => match args.first().map(String::as_str) {
            Some("ingest") => scf_iot_ingest::cli::bench_ingest_command(&args[1..]),
            Some("chain") => scf_node::cli::bench_chain_command(&args[1..]),
            Some("api") => bench_api(&args[1..]),
            _ => Err("usage: scf bench chain|ingest|api [OPTIONS] --json".to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
