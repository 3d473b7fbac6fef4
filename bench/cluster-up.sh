#!/usr/bin/env bash
# bench/cluster-up: how fast a cluster becomes usable, beside what the kernel alone needs.
#
#   1. create cluster with 3 and with 10 nodes: wall time until every node is Ready, and until one pod on
#      each node answers HTTP from a pod on every other node (by pod IP);
#   2. 100 pods of one Deployment over 3 nodes: wall time from apply until all 100 are Ready;
#   3. memory of the server and of each agent after that: peak resident (VmHWM, which counts the shared
#      binary and libraries in full for every process) and proportional (Pss, shared pages split);
#   4. kernel baseline, measured here the same run: 100 network namespaces with a veth pair, addresses and
#      routes each, made with one `ip -batch` (KERNEL-NOTES.md: 358 ms; 125 ms in-process with libnl).
#
# Runs as root, on clusters named kb-*, which it deletes afterwards; all traffic stays inside their namespaces.
# Usage: bench/cluster-up.sh  (builds nothing: run `make release` first, or set KINDLING_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${KINDLING_BIN:-.build/release/kindling}
[ -x "$BIN" ] || { echo "no $BIN: run 'make release' first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
cleanup() {
  for c in kb-up-3 kb-up-10 kb-pods; do "$BIN" delete cluster --name "$c" >/dev/null 2>&1 || true; done
  for ns in $(ip netns list | awk '/^kb-base-/{print $1}'); do ip netns delete "$ns"; done
}
trap cleanup EXIT
cleanup

config() {  # config N: one control plane and N-1 workers
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n'
  for _ in $(seq 2 "$1"); do printf -- '- role: worker\n'; done
}

ready_count() {  # ready_count CLUSTER [SELECTOR]: pods Running and Ready
  "$BIN" get pods --name "$1" ${2:+-l "$2"} -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for p in items if p.get("status", {}).get("phase") == "Running" and any(
    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))))'
}

echo "== create cluster until every node is Ready, and until pods on every node reach each other =="
printf '%-8s %12s %14s\n' nodes "Ready (ms)" "reachable (ms)"
for n in 3 10; do
  name=kb-up-$n
  t0=$(now)
  config "$n" | "$BIN" create cluster --name "$name" --config - >/dev/null 2>&1
  t1=$(now)
  nodes=$("$BIN" get nodes --name "$name" -o name | cut -d/ -f2)
  for node in $nodes; do
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: echo-%s, labels: {app: echo}}\nspec:\n  nodeName: %s\n  containers:\n  - {name: agnhost, image: registry.k8s.io/e2e-test-images/agnhost:2.39, args: [netexec, --http-port=8080]}\n---\n' "${node#$name-}" "$node"
  done | "$BIN" apply --name "$name" -f - >/dev/null
  until [ "$(ready_count "$name" app=echo)" -eq "$n" ]; do sleep 0.02; done
  ips=$("$BIN" get pods --name "$name" -o wide | awk 'NR>1 {print $6}' | tr '\n' ' ')
  pods=$("$BIN" get pods --name "$name" -o name | cut -d/ -f2)
  # One exec per pod, which curls every pod (retrying until each answers).
  for pod in $pods; do
    "$BIN" exec --name "$name" "$pod" -- sh -c "for ip in $ips; do until curl -s --max-time 1 -o /dev/null http://\$ip:8080/hostname; do sleep 0.01; done; done"
  done
  t2=$(now)
  printf '%-8s %12s %14s\n' "$n" "$(ms "$t0" "$t1")" "$(ms "$t0" "$t2")"
  "$BIN" delete cluster --name "$name" >/dev/null 2>&1
done
echo "(kind create cluster: 12-17 s for one node on a laptop; Mininet 2.3 builds 3 hosts in 0.44 s, 10 in 0.69 s)"

echo
echo "== 100 pods of one Deployment over 3 nodes, from apply until all are Ready =="
config 3 | "$BIN" create cluster --name kb-pods --config - >/dev/null 2>&1
t0=$(now)
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 100\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: nginx, image: nginx}\n' \
  | "$BIN" apply --name kb-pods -f - >/dev/null
until [ "$(ready_count kb-pods app=web)" -eq 100 ]; do sleep 0.05; done
t1=$(now)
echo "100 pods Ready: $(ms "$t0" "$t1") ms"

echo
echo "== memory with 100 pods running: peak resident (VmHWM) and proportional share now (Pss, shared pages split) =="
total_hwm=0
total_pss=0
printf '%-58s %8s %8s\n' process "peak RSS" "Pss"
for pid in $(pgrep -f "kindling (server|agent) --name kb-pods"); do
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
  total_hwm=$((total_hwm + hwm))
  total_pss=$((total_pss + pss))
  printf '%-58s %5d MB %5d MB\n' "$(tr '\0' ' ' < "/proc/$pid/cmdline" | sed 's|.*kindling ||' | cut -c1-56)" $((hwm / 1024)) $((pss / 1024))
done
printf '%-58s %5d MB %5d MB\n' "server + 3 agents" $((total_hwm / 1024)) $((total_pss / 1024))
"$BIN" delete cluster --name kb-pods >/dev/null 2>&1

echo
echo "== kernel baseline: 100 pod namespaces wired to a node namespace (veth, addresses, routes), ip -batch per pod =="
batch=$(mktemp)
t0=$(now)
{ echo "netns add kb-base-node"; for i in $(seq 1 100); do echo "netns add kb-base-$i"; done; } > "$batch"
ip -batch "$batch"
for i in $(seq 1 100); do
  pod_ip=10.250.$((i / 250)).$((i % 250 + 2))
  printf 'link add kbv%d type veth peer name eth0 netns kb-base-%d\naddr add 10.250.0.1/32 dev kbv%d\nlink set kbv%d up\nroute add %s/32 dev kbv%d scope link\n' \
    "$i" "$i" "$i" "$i" "$pod_ip" "$i" | ip -n kb-base-node -batch -
  printf 'addr add %s/24 dev eth0 noprefixroute\nlink set eth0 up\nlink set lo up\nroute add 10.250.0.1 dev eth0 scope link\nroute add default via 10.250.0.1 dev eth0\n' \
    "$pod_ip" | ip -n "kb-base-$i" -batch -
done
t1=$(now)
rm -f "$batch"
echo "100 pod namespaces wired: $(ms "$t0" "$t1") ms (KERNEL-NOTES.md: 358 ms with ip -batch per pod; 125 ms in-process with libnl)"
