//! Fault schedules drawn from a seed. A schedule is a list of timed primitive actions (link down/up,
//! route cut/mend, link shape, kill/start/stop, clock offset), so the seed alone says what happens and
//! when; the only decision left to run time is which node is the leader.

use serde::Serialize;

use crate::proxy::Shape;
use crate::rng::Rng;

/// The kinds of fault, as counted in campaign reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A minority (one validator) isolated, then healed.
    PartitionMinority,
    /// The proposer of the latest block isolated, then healed.
    PartitionLeader,
    /// Five validators split 2 | 3 (40/60 of the voting power) by route removal, then healed.
    Split4060,
    /// Every link 100–300 ms round trip with jitter and 1 % loss.
    Wan,
    /// kill -9 of one random validator, restarted with its disk.
    KillOne,
    /// kill -9 of f validators at once, kept down longer, restarted with their disks.
    KillF,
    /// kill -9 of f + 1 validators (no quorum), restarted with their disks.
    KillBeyondF,
    /// SIGTERM and restart with the disk intact.
    Restart,
    /// One validator's wall clock jumps (libfaketime offset), then returns.
    ClockJump,
    /// One validator's link goes down and up repeatedly.
    Flap,
}

pub const ALL_KINDS: [FaultKind; 10] = [
    FaultKind::PartitionMinority,
    FaultKind::PartitionLeader,
    FaultKind::Split4060,
    FaultKind::Wan,
    FaultKind::KillOne,
    FaultKind::KillF,
    FaultKind::KillBeyondF,
    FaultKind::Restart,
    FaultKind::ClockJump,
    FaultKind::Flap,
];

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    LinkDown {
        node: usize,
    },
    LinkUp {
        node: usize,
    },
    Cut {
        a: usize,
        b: usize,
    },
    Mend {
        a: usize,
        b: usize,
    },
    /// Isolate whichever validator proposed the latest block (resolved when it runs).
    IsolateLeader,
    /// Undo `IsolateLeader`.
    HealLeader,
    Shape {
        a: usize,
        b: usize,
        latency_ms: u64,
        jitter_ms: u64,
        loss_permille: u64,
    },
    Kill {
        node: usize,
    },
    Stop {
        node: usize,
    },
    Start {
        node: usize,
    },
    Clock {
        node: usize,
        offset_s: i64,
    },
}

impl Action {
    pub fn shape(&self) -> Option<Shape> {
        match self {
            Action::Shape { latency_ms, jitter_ms, loss_permille, .. } => {
                Some(Shape { latency_ms: *latency_ms, jitter_ms: *jitter_ms, loss: *loss_permille as f64 / 1000.0 })
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    pub seed: u64,
    pub validators: usize,
    pub faults: Vec<FaultKind>,
    /// Load runs this long before the first fault.
    pub warmup_ms: u64,
    pub steps: Vec<Step>,
    /// Everything is healed at this time (after the last step), then the load runs `settle_ms` more.
    pub heal_ms: u64,
    pub settle_ms: u64,
}

/// The schedule of `seed`: one fault, and with probability 0.35 a second one overlapping it.
pub fn generate(seed: u64) -> Schedule {
    let mut rng = Rng::new(seed);
    let first = ALL_KINDS[rng.below(ALL_KINDS.len())];
    let mut faults = vec![first];
    if rng.chance(0.35) {
        let second = ALL_KINDS[rng.below(ALL_KINDS.len())];
        faults.push(second);
    }
    let validators = if faults.contains(&FaultKind::Split4060) { 5 } else { 4 };
    let warmup_ms = 5_000;
    let mut steps = Vec::new();
    let mut end = warmup_ms;
    for (k, f) in faults.iter().enumerate() {
        let start = warmup_ms + if k == 0 { 0 } else { rng.range(0, 8_000) };
        let last = expand(*f, start, validators, &mut rng, &mut steps);
        end = end.max(last);
    }
    steps.sort_by_key(|s| s.at_ms);
    Schedule { seed, validators, faults, warmup_ms, steps, heal_ms: end + 500, settle_ms: 5_000 }
}

/// Add the steps of one fault starting at `t`; returns when its last step happens.
fn expand(kind: FaultKind, t: u64, n: usize, rng: &mut Rng, steps: &mut Vec<Step>) -> u64 {
    let mut at = |at_ms: u64, action: Action| steps.push(Step { at_ms, action });
    let f = (n - 1) / 3;
    match kind {
        FaultKind::PartitionMinority => {
            let node = rng.below(n);
            let d = rng.range(5_000, 15_000);
            at(t, Action::LinkDown { node });
            at(t + d, Action::LinkUp { node });
            t + d
        }
        FaultKind::PartitionLeader => {
            let d = rng.range(5_000, 15_000);
            at(t, Action::IsolateLeader);
            at(t + d, Action::HealLeader);
            t + d
        }
        FaultKind::Split4060 => {
            let side = rng.pick(n, n * 2 / 5);
            let d = rng.range(5_000, 15_000);
            for a in &side {
                for b in (0..n).filter(|b| !side.contains(b)) {
                    at(t, Action::Cut { a: *a, b });
                    at(t + d, Action::Mend { a: *a, b });
                }
            }
            t + d
        }
        FaultKind::Wan => {
            let d = rng.range(8_000, 20_000);
            for a in 0..n {
                for b in (a + 1)..n {
                    let rtt = rng.range(100, 300);
                    let latency_ms = rtt / 2;
                    at(t, Action::Shape { a, b, latency_ms, jitter_ms: latency_ms / 10, loss_permille: 10 });
                    at(t + d, Action::Shape { a, b, latency_ms: 0, jitter_ms: 0, loss_permille: 0 });
                }
            }
            t + d
        }
        FaultKind::KillOne => {
            let node = rng.below(n);
            let d = rng.range(1_000, 8_000);
            at(t, Action::Kill { node });
            at(t + d, Action::Start { node });
            t + d
        }
        FaultKind::KillF => {
            let nodes = rng.pick(n, f.max(1));
            let d = rng.range(10_000, 20_000);
            for node in &nodes {
                at(t, Action::Kill { node: *node });
                at(t + d, Action::Start { node: *node });
            }
            t + d
        }
        FaultKind::KillBeyondF => {
            let nodes = rng.pick(n, f + 1);
            let d = rng.range(3_000, 10_000);
            for (k, node) in nodes.iter().enumerate() {
                at(t + k as u64 * rng.range(0, 1_000), Action::Kill { node: *node });
                at(t + d, Action::Start { node: *node });
            }
            t + d + 1_000
        }
        FaultKind::Restart => {
            let node = rng.below(n);
            let d = rng.range(500, 3_000);
            at(t, Action::Stop { node });
            at(t + d, Action::Start { node });
            t + d
        }
        FaultKind::ClockJump => {
            let node = rng.below(n);
            let offsets = [45i64, -45, 120, -120, 10, -10];
            let offset_s = offsets[rng.below(offsets.len())];
            let d = rng.range(5_000, 15_000);
            at(t, Action::Clock { node, offset_s });
            at(t + d, Action::Clock { node, offset_s: 0 });
            t + d
        }
        FaultKind::Flap => {
            let node = rng.below(n);
            let d = rng.range(6_000, 15_000);
            let mut x = t;
            while x < t + d {
                let down = rng.range(300, 2_000);
                let up = rng.range(300, 2_000);
                at(x, Action::LinkDown { node });
                at(x + down, Action::LinkUp { node });
                x += down + up;
            }
            x
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_is_one_schedule_and_every_fault_kind_is_drawn() {
        assert_eq!(generate(42), generate(42));
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let s = generate(seed);
            kinds.extend(s.faults.iter().copied());
            assert!(s.steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
            assert!(s.steps.iter().all(|st| st.at_ms < s.heal_ms));
            if s.faults.contains(&FaultKind::Split4060) {
                assert_eq!(s.validators, 5);
                let cuts = s.steps.iter().filter(|st| matches!(st.action, Action::Cut { .. })).count();
                assert!(cuts >= 6, "2 x 3 pairs cut: {cuts}");
            }
        }
        assert_eq!(kinds.len(), ALL_KINDS.len(), "{kinds:?}");
    }
}
