#!/usr/bin/env bash
# Compare the EPCIS importer (domain, `epcis_hashes` example) with the GS1 reference implementation
# (PyPI epcis-event-hash-generator 1.9.3) document by document, and fail on any hash mismatch or
# unexpected refusal.
#
# Documents compared:
#   - this repository's fixtures (domain/tests/data/*.jsonld, domain/tests/data/epcis/*), always;
#   - GS1's published examples when EPCIS_EXAMPLES_DIR points at a checkout of the gs1/EPCIS
#     repository (its JSON/ and XML/ folders). No registry package ships those examples, so they are
#     not downloaded here.
# Expected refusals / deliberate differences, with reasons: tests/standards/epcis_examples_expectations.tsv.
#
# Usage: tests/standards/epcis_examples.sh            (env: EPCIS_EXAMPLES_DIR, CARGO_TARGET_DIR)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${SCF_STANDARDS_CACHE:-$HOME/.cache/scf-standards}"
VENV="$CACHE/venv-epcis"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import epcis_event_hash_generator' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'epcis-event-hash-generator==1.9.3'
fi

(cd "$ROOT" && cargo build --quiet -p scf-domain --example epcis_hashes)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/epcis_hashes"

status=0
run_set() { # name, root dir, files...
  local name="$1" dir="$2"; shift 2
  (cd "$dir" && "$VENV/bin/python" "$ROOT/tests/standards/epcis_reference_hashes.py" "$@" >"$OUT/$name.ref.jsonl" 2>/dev/null)
  (cd "$dir" && "$BIN" "$@" >"$OUT/$name.ours.jsonl")
  echo "== $name"
  (cd "$dir" && python3 "$ROOT/tests/standards/epcis_compare.py" "$OUT/$name.ref.jsonl" "$OUT/$name.ours.jsonl" \
      "$ROOT/tests/standards/epcis_examples_expectations.tsv") | tee "$OUT/$name.log" || status=1
}

mapfile -t OWN < <(cd "$ROOT" && ls domain/tests/data/*.jsonld domain/tests/data/epcis/* 2>/dev/null)
run_set fixtures "$ROOT" "${OWN[@]}"

if [ -n "${EPCIS_EXAMPLES_DIR:-}" ]; then
  mapfile -t GS1 < <(cd "$EPCIS_EXAMPLES_DIR" && find JSON XML -type f \( -name '*.jsonld' -o -name '*.json' -o -name '*.xml' \) | sort)
  run_set gs1-examples "$EPCIS_EXAMPLES_DIR" "${GS1[@]}"
else
  echo "== gs1-examples: not run (set EPCIS_EXAMPLES_DIR to a gs1/EPCIS checkout; no registry package ships them)"
fi

passed=$(cat "$OUT"/*.log | grep -cE '^(MATCH|REFUSED|DIFFERS|ACCEPTED)' || true)
failed=$(cat "$OUT"/*.log | grep -c '^FAIL' || true)
echo "epcis_examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $status || exit 1
