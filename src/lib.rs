//! The `scf` package: the command-line binary and the pieces of wiring it shares with its tests
//! (demo seeds, the demo, the adapter from the node to in-process services). The crates under `core-chain/`, `domain/`, `iot-ingest/`, `graphql/` and `workflows/`
//! do the work.

pub mod seed;
pub mod bench_api;
pub mod demo;
pub mod node_chain;
pub mod serve;
