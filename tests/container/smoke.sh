#!/usr/bin/env bash
# Build the member image from docs/deploy/Containerfile with podman and run a member in it: keys, genesis
# and member.toml made with the same `scf` binary, the container started with them mounted read-only,
# its API answering /healthz with committed blocks, and a clean stop on SIGTERM.
#
#   SCF_BIN=target/debug/scf bash tests/container/smoke.sh
#
# No registry is reachable from CI, so the base image is Debian 12 made with debootstrap from the Debian
# mirror and imported into podman (cached under ~/.cache/scf-container).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
SCF_BIN="${SCF_BIN:?set SCF_BIN to the scf binary}"
cache="${SCF_CONTAINER_CACHE:-$HOME/.cache/scf-container}"
base=localhost/scf-base:bookworm
tag="localhost/scf-smoke:$$"
name="scf-smoke-$$"
work="$(mktemp -d /tmp/scf-container.XXXXXX)"
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export PATH="/usr/sbin:/sbin:$PATH"
command -v podman >/dev/null || { echo "podman is not installed (bash .ci/setup installs it)" >&2; exit 1; }

if ! podman image exists "$base"; then
  mkdir -p "$cache"
  if [ ! -f "$cache/bookworm-minbase.tar" ]; then
    echo "making a Debian 12 base image with debootstrap"
    rm -rf "$cache/rootfs.tmp"
    debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    tar -C "$cache/rootfs.tmp" -cf "$cache/bookworm-minbase.tar.tmp" .
    mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
    rm -rf "$cache/rootfs.tmp"
  fi
  podman import --quiet "$cache/bookworm-minbase.tar" "$base" >/dev/null
fi

# The build context: the binary and the built web UI, as the Containerfile expects.
mkdir -p "$work/ctx/ui"
cp "$SCF_BIN" "$work/ctx/scf"
if [ -f "$root/ui/dist/index.html" ]; then cp -r "$root/ui/dist/." "$work/ctx/ui/"; else echo '<!doctype html><title>scf</title>' >"$work/ctx/ui/index.html"; fi
podman build --quiet --isolation chroot --network host --build-arg BASE="$base" -f "$root/docs/deploy/Containerfile" -t "$tag" "$work/ctx" >/dev/null

# A one-organisation consortium, made on the host with the same binary.
etc="$work/etc"
mkdir -p "$etc"
"$SCF_BIN" keygen --node smoke-val --out "$etc/keys" >/dev/null
orgkey_hex="$("$SCF_BIN" keygen --out "$etc/org" | sed -n 's/^public key *//p')"
"$SCF_BIN" genesis --chain-id container-smoke --validator "$etc/keys/validator.json" \
  --org "id=SMOKE,name=容器测试,credit_code=91310000MA1FL5SM01,roles=core_enterprise,public_key=$orgkey_hex" \
  --out "$etc/genesis.json" >/dev/null
"$SCF_BIN" member init --org SMOKE --out "$etc/member.toml" >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p2p="$(port)"; gossip="$(port)"; node_api="$(port)"; api="$(port)"
sed -i \
  -e "s|/ip4/0.0.0.0/tcp/27000|/ip4/127.0.0.1/tcp/$p2p|" \
  -e "s|/ip4/0.0.0.0/tcp/27100|/ip4/127.0.0.1/tcp/$gossip|" \
  -e "s|127.0.0.1:26658|127.0.0.1:$node_api|" \
  -e "s|127.0.0.1:8080|127.0.0.1:$api|" \
  -e 's|^home = .*|home = "/var/lib/scf/node"|' \
  -e 's|^database_url = .*|database_url = "sqlite:///var/lib/scf/read-model.sqlite?mode=rwc"|' \
  -e 's|^node_key = .*|node_key = "/var/lib/scf/node.key"|' \
  -e 's|^# ui = .*|ui = "/usr/share/scf/ui"|' \
  -e 's|keys/timer.pem|org/key.pem|' \
  -e 's|^schedule = .*|schedule = "/var/lib/scf/timers.redb"|' \
  "$etc/member.toml"
# Run the image. Where podman's OCI runtime can start containers, as `podman run`. Some hosts (like a
# VM without CAP_SYS_RESOURCE, where crun and runc fail on setrlimit) cannot: there the image's own
# filesystem (podman mount) is run with chroot, as the image's user, with the image's entrypoint and
# command — the same binary, libraries, UI and user, without the runtime's isolation.
mode=podman
if ! podman run --rm --network host --entrypoint /usr/bin/true "$tag" >/dev/null 2>"$work/run.err"; then
  echo "podman cannot start containers here ($(tail -1 "$work/run.err")); running the image's filesystem with chroot"
  mode=chroot
fi
user="$(podman image inspect -f '{{.Config.User}}' "$tag")"
if [ "$mode" = podman ]; then
  uid="$(podman run --rm --entrypoint /usr/bin/id "$tag" -u)"
  chown -R "$uid" "$etc"
  podman run -d --name "$name" --network host -v "$etc:/etc/scf:ro" "$tag" >/dev/null
  running() { [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ]; }
  logs() { podman logs "$name" 2>&1 | tail -40; }
else
  podman create --name "$name" "$tag" >/dev/null
  rootfs="$(podman mount "$name")"
  uid="$(chroot "$rootfs" /usr/bin/id -u "$user")"
  gid="$(chroot "$rootfs" /usr/bin/id -g "$user")"
  chown -R "$uid:$gid" "$etc"
  mount --bind "$etc" "$rootfs/etc/scf"
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  umounts() { umount "$rootfs/dev" "$rootfs/proc" "$rootfs/etc/scf" 2>/dev/null || true; podman umount "$name" >/dev/null 2>&1 || true; }
  trap 'umounts; cleanup' EXIT
  entry="$(podman image inspect -f '{{join .Config.Entrypoint " "}} {{join .Config.Cmd " "}}' "$tag")"
  workdir="$(podman image inspect -f '{{.Config.WorkingDir}}' "$tag")"
  # shellcheck disable=SC2086 # the entrypoint and command are words
  chroot --userspec="$uid:$gid" "$rootfs" /bin/sh -c "cd $workdir && exec $entry" >"$work/member.log" 2>&1 &
  pid=$!
  running() { kill -0 "$pid" 2>/dev/null; }
  logs() { tail -40 "$work/member.log"; }
fi
deadline=$((SECONDS + 120))
until health="$(curl -fsS "http://127.0.0.1:$api/healthz" 2>/dev/null)" && [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["indexed_height"] >= 2)' "$health")" = True ]; do
  if [ "$SECONDS" -ge "$deadline" ] || ! running; then
    echo "the member in the image did not come up ($mode):" >&2
    logs >&2
    exit 1
  fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$api/" | grep -qi '<!doctype html' || { echo "the web UI is not served" >&2; exit 1; }
if [ "$mode" = podman ]; then
  podman stop --time 30 "$name" >/dev/null
  code="$(podman inspect -f '{{.State.ExitCode}}' "$name")"
else
  kill -TERM "$pid"
  code=0
  wait "$pid" || code=$?
fi
[ "$code" = 0 ] || { echo "the member exited with $code on SIGTERM" >&2; logs >&2; exit 1; }
echo "container smoke test ($mode): image built, member answered /healthz ($health), served the UI, stopped cleanly on SIGTERM"
