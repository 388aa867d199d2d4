#!/usr/bin/env bash
# SM2 anchors (OpenSSL and Tongsuo) on this machine; prints one JSON object. tongsuopy comes from PyPI
# into a virtual environment of its own (created once).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${SCF_ANCHORS_VENV:-$HOME/.cache/scf-anchors-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements-anchors.txt"
fi
exec "$venv/bin/python" "$here/sm2_anchors.py"
