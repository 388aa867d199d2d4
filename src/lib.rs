//! The `scf` package: the command-line binary and the pieces of wiring it shares with its tests
//! (demo seeds). The crates under `core-chain/`, `domain/`, `iot-ingest/`, `graphql/` and `workflows/`
//! do the work.

pub mod seed;
