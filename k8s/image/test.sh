#!/usr/bin/env bash
# Starts the image `make image` built, as the chart runs it — read-only root filesystem, user
# 65532, every capability dropped, no new privileges, the history on a volume of its own, the
# kubeconfig mounted read-only — with podman (daemonless), against a simulated cluster on this
# machine, and checks that it becomes ready, serves its site and refuses requests without an
# identity. Fails naming what did not hold; removes what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
layout=target/image/oci
test -f "$layout/index.json" || { echo "no image: make image first"; exit 1; }
command -v podman >/dev/null || { echo "podman is needed (Debian: apt-get install podman runc)"; exit 1; }

# Podman on a machine without systemd, in a sandbox that may not raise limits: cgroupfs, runc
# (crun refuses hybrid cgroup hierarchies), no default ulimits.
export CONTAINERS_CONF="$PWD/k8s/image/containers.conf"
podman=(podman --runtime runc --cgroup-manager cgroupfs)

work=$(mktemp -d)
name="paydeck-image-test-$$"
sim_pid=""
image_id=""
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  [ -n "$image_id" ] && "${podman[@]}" rmi -f "$image_id" >/dev/null 2>&1 || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The simulated cluster, its clock pinned (sim/test-start).
cargo build --release --locked -q -p sim --bin paydeck-sim
sim_port=$(free_port)
target/release/paydeck-sim --listen "127.0.0.1:$sim_port" --write-kubeconfig "$work/kubeconfig" \
  --start "$(cat sim/test-start)" > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
test -s "$work/kubeconfig" || { echo "the simulator did not start:"; cat "$work/sim.log"; exit 1; }
chmod 0644 "$work/kubeconfig"
# The history volume, owned by the pod's user as fsGroup makes it in a cluster.
install -d -m 0700 -o 65532 -g 65532 "$work/history"

image_id=$("${podman[@]}" pull -q "oci:$layout:$version")
port=$(free_port)
started=$(date +%s%N)
"${podman[@]}" run -d --name "$name" --network host \
  --read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges \
  -v "$work/history:/var/lib/paydeck" \
  -v "$work/kubeconfig:/etc/paydeck/kube/config:ro" \
  -e PAYDECK_LISTEN="127.0.0.1:$port" \
  -e PAYDECK_KUBECONFIG=/etc/paydeck/kube/config \
  -e PAYDECK_ANONYMOUS=refuse \
  -e PAYDECK_LOG_FORMAT=json \
  "$image_id" > /dev/null

status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$1" || true; }
ready=""
for _ in $(seq 600); do
  if [ "$(status /readyz)" = 200 ]; then ready=yes; break; fi
  if [ "$("${podman[@]}" inspect -f '{{.State.Running}}' "$name")" != true ]; then break; fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "the image did not become ready within 60 s; its log:"; "${podman[@]}" logs "$name" | tail -20; exit 1
fi
echo "== image ready in $(( ($(date +%s%N) - started) / 1000000 )) ms against the simulator"

fail() { echo "image test: $*"; "${podman[@]}" logs "$name" | tail -20; exit 1; }
[ "$(status /healthz)" = 200 ] || fail "/healthz"
[ "$(status /assets/echarts.min.js)" = 200 ] || fail "the site's ECharts bundle is not served"
wasm=$(ls target/site/pkg | grep -m1 '\.wasm$')
[ "$(status "/pkg/$wasm")" = 200 ] || fail "the site's WebAssembly ($wasm) is not served"
[ "$(status /api/v1/workloads)" = 401 ] || fail "a request without an identity was not refused"
# The process runs as 65532 on a read-only root, with no capabilities.
pid=$("${podman[@]}" inspect -f '{{.State.Pid}}' "$name")
grep -q "^Uid:[[:space:]]*65532[[:space:]]" "/proc/$pid/status" || fail "not running as 65532"
grep -q "^CapEff:[[:space:]]*0000000000000000" "/proc/$pid/status" || fail "it holds capabilities"
grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$pid/status" || fail "new privileges allowed"
[ "$("${podman[@]}" inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$name")" = true ] || fail "root filesystem writable"
# SIGTERM: history flushed, the database closed, status 0.
"${podman[@]}" stop -t 30 "$name" > /dev/null
code=$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "stopped with status $code"
test -s "$work/history/paydeck.db" || fail "no history database on the volume"
echo "== image test passed: ready, site served, identity required, user 65532, no capabilities, read-only root, history on its volume, clean stop"
