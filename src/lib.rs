//! The `scf` package: the command-line binary and the wiring it shares with its tests — demo seeds, the
//! demo, the adapter from a node to the services beside it, the API beside a member's node, the API
//! benchmark. The crates under `core-chain/`, `domain/`, `iot-ingest/`, `graphql/` and `workflows/` do the
//! work.

pub mod admin;
pub mod bench_api;
pub mod bench_chain;
pub mod bench_preload;
pub mod demo;
pub mod files;
pub mod key_watch;
pub mod member;
pub mod seed;
pub mod serve;
