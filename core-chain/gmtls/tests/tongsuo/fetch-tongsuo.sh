#!/usr/bin/env bash
# Unpacks Tongsuo's libssl/libcrypto (linked into the tongsuopy 1.0.1 wheel from PyPI) into
# ${SCF_TONGSUO_CACHE:-$HOME/.cache/scf-tongsuo}; prints the path of the shared object on its last line.
# Takes a few seconds cold (a 2.6 MB download), none warm. Needs pip and unzip or python3.
set -euo pipefail

version=1.0.1
wheel_name="tongsuopy-$version-cp36-abi3-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
sha256=daabaf13e113af1e1ffca1b5e321da40273b64a0359f9c1b1146f1d9de06ccda
cache="${SCF_TONGSUO_CACHE:-$HOME/.cache/scf-tongsuo}/tongsuopy-$version"
so="$cache/tongsuopy/backends/_tongsuo.abi3.so"

if [ -f "$so" ]; then
    echo "$so"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip3 download --quiet --no-deps --only-binary :all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
    --dest "$work" "tongsuopy==$version" >&2
echo "$sha256  $work/$wheel_name" | sha256sum --check --quiet - >&2
mkdir -p "$cache.tmp"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$work/$wheel_name" "$cache.tmp"
rm -rf "$cache"
mv "$cache.tmp" "$cache"
echo "$so"
