#!/usr/bin/env bash
# Builds the `gmssl` command of GmSSL 3.1.1 — an independent 国密 TLS 1.3 implementation (RFC 8998) — from
# the PyPI source distribution easy-gmssl 2.0.1, which carries the GmSSL 3.1.1 source tree. The interop tests
# run its tls13_server / tls13_client against scf-gmtls.
#
# The binary is cached under ${SCF_GMSSL_CACHE:-$HOME/.cache/scf-gmssl}; a cold build (download + cmake +
# compile of the gmssl target) took 23–51 s on the project's 2-core machine, a warm call returns at once.
# Prints the path of the binary on its last line. Needs pip, cmake and a C compiler.
set -euo pipefail

version=2.0.1
sha256=18f74927a4a0a57c46d2912284bc0232a792a0fb8d078c2346b2a05f4b7e9607
cache="${SCF_GMSSL_CACHE:-$HOME/.cache/scf-gmssl}/easy-gmssl-$version"
bin="$cache/bin/gmssl"

if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

for tool in pip3 cmake cc; do
    command -v "$tool" >/dev/null || { echo "build-gmssl: $tool is required" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

pip3 download --quiet --no-deps --no-binary :all: --dest "$work" "easy-gmssl==$version" >&2
sdist="$work/easy_gmssl-$version.tar.gz"
echo "$sha256  $sdist" | sha256sum --check --quiet - >&2

tar -xzf "$sdist" -C "$work" "easy_gmssl-$version/easy_gmssl/Core/GmSSL-3.1.1"
src="$work/easy_gmssl-$version/easy_gmssl/Core/GmSSL-3.1.1"
cmake -S "$src" -B "$work/build" -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
nice -n 5 cmake --build "$work/build" --target gmssl-bin -j "$(nproc)" >/dev/null

mkdir -p "$cache/bin"
cp "$work/build/bin/gmssl" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "build-gmssl: built GmSSL 3.1.1 in $(( $(date +%s) - start )) s" >&2
echo "$bin"
