#!/usr/bin/env bash
# Time the README's first command on a fresh Debian 12: a debootstrap minbase root with only Rust (this
# machine's toolchain, mounted read-only) and Node.js (this machine's binary and npm) added, a fresh clone of
# this repository's HEAD, no cargo registry, no npm cache. Runs `bash .ci/demo --port PORT` in it as root
# (so it installs its own packages), stamps each output line with the seconds since the start, stops the
# demo once its /healthz answers, and prints bash's `time` of the whole command.
#
#   sudo bash tests/fresh/demo_time.sh [PORT]        # on demand, not in CI (half an hour or more)
#
# Needs root (chroot, mounts), debootstrap (or a cached base, as the container smoke test makes), curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
port="${1:-18080}"
cache="${SCF_CONTAINER_CACHE:-$HOME/.cache/scf-container}"
export PATH="/usr/sbin:/sbin:$PATH"
[ "$(id -u)" = 0 ] || { echo "run as root (chroot and mounts)" >&2; exit 1; }
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_bin="$(dirname "$(command -v cargo)")"
node_bin="$(command -v node)"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

if [ ! -f "$cache/bookworm-minbase.tar" ]; then
  mkdir -p "$cache"
  rm -rf "$cache/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1
  tar -C "$cache/rootfs.tmp" -cf "$cache/bookworm-minbase.tar.tmp" .
  mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
  rm -rf "$cache/rootfs.tmp"
fi

r="$(mktemp -d /tmp/scf-fresh.XXXXXX)"
log="$r.log"
cleanup() {
  for m in dev/pts dev proc root/.rustup root/.cargo/bin; do umount "$r/$m" 2>/dev/null || true; done
  rm -rf "$r"
}
trap cleanup EXIT
tar -C "$r" -xf "$cache/bookworm-minbase.tar"
cp /etc/resolv.conf "$r/etc/resolv.conf"
# Registries are reached through this machine's trust store (a proxy's CA may be in it).
mkdir -p "$r/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
cp "$node_bin" "$r/usr/bin/node"
mkdir -p "$r/usr/lib/node_modules" && cp -r "$npm_dir" "$r/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/bin/npm"
mkdir -p "$r/root/.rustup" "$r/root/.cargo/bin"
mount --bind "$rustup_home" "$r/root/.rustup" && mount -o remount,bind,ro "$r/root/.rustup"
mount --bind "$cargo_bin" "$r/root/.cargo/bin" && mount -o remount,bind,ro "$r/root/.cargo/bin"
mount -t proc proc "$r/proc"
mount --bind /dev "$r/dev" && mount --bind /dev/pts "$r/dev/pts"
git clone -q "$root" "$r/root/scf"

start=$(date +%s)
( until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 2; done
  echo "demo answered after $(( $(date +%s) - start )) s"
  pkill -INT -f "target/demo/scf demo" ) &
watcher=$!
chroot "$r" /bin/bash -c "export HOME=/root PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt; cd /root/scf && time bash .ci/demo --port $port" 2>&1 \
  | while IFS= read -r line; do printf '[%5d s] %s\n' $(( $(date +%s) - start )) "$line"; done | tee "$log" \
  | grep -E '==>|demo answered|^\[ *[0-9]+ s\] (real|user|sys)|error' || true
kill "$watcher" 2>/dev/null || true
echo "full log: $log; load while it ran: $(cut -d, -f3- /proc/loadavg)"
