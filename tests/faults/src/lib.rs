//! `scf-faults`: fault injection on real network stacks.
//!
//! Validators are `scf node` processes, each in its own Linux network namespace ([`net`]), reaching each
//! other only through userspace link proxies ([`proxy`]) that add latency, jitter and loss; partitions are
//! link-down or route removal. A seed names a schedule of faults ([`schedule`]); [`run::run_seed`] builds a
//! fresh cluster ([`cluster`]), runs the set-up and a steady load of voucher transfers and IoT readings
//! ([`load`]), applies the schedule, heals everything and checks the invariants ([`check`]): every
//! transaction a client saw committed is on every node at the same height, every node reaches the same
//! block and state root, no validator signed two different proposals or votes for one height and round,
//! and every IoT excursion raised exactly one alert. [`wan`] measures commit latency over shaped links.
//!
//! Needs root (namespaces, veth pairs), `ip` (iproute2), Debian's libfaketime and mosquitto.

pub mod check;
pub mod cluster;
pub mod load;
pub mod net;
pub mod proxy;
pub mod rng;
pub mod run;
pub mod schedule;
pub mod wan;
