//! `scf-iot-ingest`: sensor readings signed at the source, received over MQTT, stored durably and
//! anchored on chain.
//!
//! Bird's-eye view: a device signs each reading as a COSE_Sign1 message with its SM2 key ([`wire`]) and
//! publishes it with QoS 1 on `scf/{org}/devices/{device_id}/telemetry`. The [`service`] (one or many
//! instances sharing a subscription) checks the device against the on-chain registry
//! (`scf_domain::device`), the signature, the clock skew and a per-device replay [`window`]; stores
//! accepted readings in [`store`] (redb, fsynced) *before* acknowledging; cuts batches whose SM3 Merkle
//! root it anchors on chain; serves inclusion proofs; and evaluates the device's [`rules`], raising
//! on-chain alerts that flag the bound receipt or lot.
//!
//! Architecture invariants: this crate talks to the chain only through the `scf_client::Chain` port
//! (never the node crate); nothing below it knows about MQTT; floats exist only at the wire edge, converted to
//! fixed-point milli-units by [`wire::to_milli`].
#![forbid(unsafe_code)]

pub mod bench;
pub mod broker;
pub mod cli;
pub mod doc;
pub mod guard;
pub mod metrics;
pub mod mqtt_access;
pub mod rules;
pub mod service;
pub mod sim;
pub mod store;
pub mod window;
pub mod wire;

pub use cli::{bench_ingest, run_ingest, simulate, BenchIngestArgs, IngestArgs, SimulateArgs};
pub use service::{IngestConfig, IngestHandle};
