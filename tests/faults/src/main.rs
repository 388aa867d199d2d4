//! `scf-faults`: run one seed, a campaign of seeds, or the WAN commit-latency measurement.
//!
//! ```text
//! scf-faults run --seed 17                 # one schedule; exit 1 if an invariant broke
//! scf-faults campaign --from 1 --count 200 --out campaign.jsonl
//! scf-faults wan --one-way-ms 50 --rate 20 --secs 60
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use scf_faults::cluster::Timeouts;
use scf_faults::run::{run_seed, Options, Report};
use scf_faults::schedule::{generate, FaultKind};
use scf_faults::wan::{self, WanOptions};

#[derive(Parser)]
#[command(name = "scf-faults", about = "Fault injection on validators in Linux network namespaces (needs root)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one seed's schedule.
    Run {
        #[arg(long)]
        seed: u64,
        #[command(flatten)]
        common: Common,
    },
    /// Print one seed's schedule without running it.
    Show {
        #[arg(long)]
        seed: u64,
    },
    /// Run seeds `from .. from+count` one after another; one JSON line per seed in `--out`.
    Campaign {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long, default_value_t = 200)]
        count: u64,
        #[arg(long, default_value = "faults-campaign.jsonl")]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Commit latency of validators every pair of which is `--one-way-ms` apart.
    Wan {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long, default_value_t = 50)]
        one_way_ms: u64,
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
        /// Per chunk, 0..=1.
        #[arg(long, default_value_t = 0.0)]
        loss: f64,
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[arg(long, default_value_t = 60)]
        secs: u64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// The `scf` binary (default: beside this one).
    #[arg(long)]
    scf: Option<PathBuf>,
    /// Working directory (each seed under it; kept when a seed fails).
    #[arg(long, default_value = "/tmp/scf-faults")]
    work: PathBuf,
    /// Keep every seed's directory.
    #[arg(long)]
    keep: bool,
    #[arg(long, default_value_t = Timeouts::default().propose_ms)]
    timeout_propose_ms: u64,
    #[arg(long, default_value_t = Timeouts::default().prevote_ms)]
    timeout_prevote_ms: u64,
    #[arg(long, default_value_t = Timeouts::default().precommit_ms)]
    timeout_precommit_ms: u64,
    #[arg(long, default_value_t = Timeouts::default().delta_ms)]
    timeout_delta_ms: u64,
}

impl Common {
    fn options(&self) -> anyhow::Result<Options> {
        let scf = match &self.scf {
            Some(p) => p.clone(),
            None => std::env::current_exe()?.parent().context("exe dir")?.join("scf"),
        };
        if !scf.exists() {
            anyhow::bail!("scf: {} does not exist (build it: cargo build --bin scf, or pass --scf)", scf.display());
        }
        Ok(Options {
            scf,
            work: self.work.clone(),
            keep: self.keep,
            timeouts: Timeouts {
                propose_ms: self.timeout_propose_ms,
                prevote_ms: self.timeout_prevote_ms,
                precommit_ms: self.timeout_precommit_ms,
                delta_ms: self.timeout_delta_ms,
            },
        })
    }
}

fn print_report(r: &Report) {
    let kinds: Vec<String> = r.schedule.faults.iter().map(|k| format!("{k:?}")).collect();
    println!(
        "seed {} [{}] validators={} submissions={} committed={} excursions={} height={} {:.0}s: {}",
        r.seed,
        kinds.join("+"),
        r.schedule.validators,
        r.submissions,
        r.committed_txs,
        r.excursions,
        r.checked_height,
        r.secs,
        if r.violations.is_empty() { "ok".to_string() } else { format!("{} VIOLATIONS", r.violations.len()) }
    );
    for v in &r.violations {
        println!("  {}: {}", v.invariant, v.detail);
    }
    if !r.violations.is_empty() {
        println!("  replay: scf-faults run --seed {} --keep   (cluster kept in {})", r.seed, r.dir.display());
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("scf-faults: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<bool> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match cli.command {
        Cmd::Show { seed } => {
            println!("{}", serde_json::to_string_pretty(&generate(seed))?);
            Ok(true)
        }
        Cmd::Run { seed, common } => {
            let opts = common.options()?;
            println!("seed {seed}: {}", serde_json::to_string(&generate(seed))?);
            let r = rt.block_on(run_seed(&opts, seed))?;
            print_report(&r);
            Ok(r.violations.is_empty())
        }
        Cmd::Campaign { from, count, out, common } => {
            let opts = common.options()?;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&out)?;
            let mut faults: BTreeMap<FaultKind, u64> = BTreeMap::new();
            let (mut ran, mut failed, mut errors) = (0u64, Vec::new(), Vec::new());
            for seed in from..from + count {
                match rt.block_on(run_seed(&opts, seed)) {
                    Ok(r) => {
                        print_report(&r);
                        writeln!(file, "{}", serde_json::to_string(&r)?)?;
                        ran += 1;
                        for k in &r.schedule.faults {
                            *faults.entry(*k).or_default() += 1;
                        }
                        if !r.violations.is_empty() {
                            failed.push(seed);
                        }
                    }
                    Err(e) => {
                        println!("seed {seed}: harness error: {e:#}");
                        writeln!(file, "{}", serde_json::json!({"seed": seed, "error": format!("{e:#}")}))?;
                        errors.push(seed);
                    }
                }
            }
            println!(
                "campaign: {ran} schedules run, {} harness errors, seeds with violations: {failed:?}",
                errors.len()
            );
            for (k, n) in &faults {
                println!("  {k:?}: {n}");
            }
            Ok(failed.is_empty() && errors.is_empty())
        }
        Cmd::Wan { validators, one_way_ms, jitter_ms, loss, rate, secs, common } => {
            let o = common.options()?;
            let w = WanOptions {
                scf: o.scf,
                work: o.work,
                validators,
                one_way_ms,
                jitter_ms,
                loss,
                rate,
                secs,
                timeouts: o.timeouts,
            };
            let r = rt.block_on(wan::run(&w))?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(true)
        }
    }
}
