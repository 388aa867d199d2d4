#!/usr/bin/env bash
# Runs the differential fuzz target for SECONDS (default 60): the fast verifier against RustCrypto `sm2`.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# The fuzz build's artifacts live apart from the workspace's (its own target dir, outside the clone).
target_dir="${SM2_FUZZ_TARGET_DIR:-$HOME/.cache/scf-target-sm2-fuzz}"
mkdir -p fuzz/corpus/differential
# No sanitizer: the crate is #![forbid(unsafe_code)], so AddressSanitizer would only slow the search; the
# differential assertions are the oracle.
cargo fuzz run --sanitizer none --target-dir "$target_dir" differential fuzz/corpus/differential -- \
    -max_total_time="$seconds" -max_len=512
