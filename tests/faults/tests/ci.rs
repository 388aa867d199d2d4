//! The fixed seeds CI runs on every change: real `scf node` processes in network namespaces, faults from
//! each seed's schedule, every invariant checked after healing. A failing seed prints the command that
//! replays it (`scf-faults run --seed N --keep`). Needs root, iproute2, libfaketime and mosquitto (.ci/setup).

use std::path::PathBuf;

use scf_faults::cluster::Timeouts;
use scf_faults::run::{run_seed, Options};
use scf_faults::schedule::{generate, FaultKind};

/// Seeds whose schedules, together, cover a minority partition, a leader partition, a 40/60 split, WAN
/// shaping, kills (one node, beyond f), a clock jump and a flapping link; plus regression seeds of
/// violations found by campaigns (docs/faults.md).
/// 2: minority partition; 6: 40/60 split; 11: WAN with a flapping link; 16: f validators killed and a clock
/// jump; 20: a validator killed and the leader partitioned; 64 (regression): the partitioned leader's clock
/// jumps back 120 s — it once refused the certified block from sync for good and stayed behind
/// (`scf-faults show --seed N`).
const SEEDS: &[u64] = &[2, 6, 11, 16, 20, 64];

fn scf_bin() -> PathBuf {
    // target/<profile>/deps/ci-<hash> → target/<profile>/scf (built by `cargo test --workspace`).
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let scf = dir.join("scf");
    assert!(scf.exists(), "{} missing: build it first (cargo build --bin scf)", scf.display());
    scf
}

#[test]
fn fixed_seeds_break_no_invariant() {
    let uid = std::process::Command::new("id").arg("-u").output().expect("id -u");
    assert_eq!(String::from_utf8_lossy(&uid.stdout).trim(), "0", "the fault harness needs root (network namespaces)");
    let mut kinds = std::collections::BTreeSet::new();
    for s in SEEDS {
        kinds.extend(generate(*s).faults);
    }
    for k in [FaultKind::PartitionMinority, FaultKind::Split4060, FaultKind::Wan, FaultKind::ClockJump] {
        assert!(kinds.contains(&k), "the CI seeds no longer cover {k:?}: {kinds:?}");
    }
    let work = tempfile::tempdir().expect("tmp");
    let opts = Options { scf: scf_bin(), work: work.path().to_path_buf(), keep: false, timeouts: Timeouts::default() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let mut failed = Vec::new();
    for seed in SEEDS {
        let r = rt.block_on(run_seed(&opts, *seed)).unwrap_or_else(|e| panic!("seed {seed}: harness error: {e:#}"));
        eprintln!(
            "seed {seed} {:?}: {} txs committed, {} excursions, height {}, {:.0} s, {} violations",
            r.schedule.faults,
            r.committed_txs,
            r.excursions,
            r.checked_height,
            r.secs,
            r.violations.len()
        );
        assert!(r.committed_txs > 0 && r.excursions > 0, "seed {seed}: the load did not run: {r:?}");
        if !r.violations.is_empty() {
            failed.push((*seed, r.violations));
        }
    }
    assert!(failed.is_empty(), "violations (replay with scf-faults run --seed N --keep): {failed:#?}");
}
