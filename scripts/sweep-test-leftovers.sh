#!/usr/bin/env bash
# Removes what a crashed test run could not: namespaces and state of test clusters (named kt-*).
# Tests clean up after themselves, also when they fail; this only catches a killed test process.
set -u
found=0
pkill -9 -f 'kindling (server|agent|supervise) .*--name kt-' 2>/dev/null && found=$((found + 1))
for ns in $(ip netns list 2>/dev/null | awk '/^kl-kt-/{print $1}'); do
  # Pod processes live on after their agent; they go before their namespace does.
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  ip netns delete "$ns" 2>/dev/null && found=$((found + 1))
done
# The reliability test's stand-in for the machine's network: namespace kt-out-<hex>, root-side veth kto<hex>.
for ns in $(ip netns list 2>/dev/null | awk '/^kt-out-/{print $1}'); do
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  ip netns delete "$ns" 2>/dev/null && found=$((found + 1))
done
for link in $(ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^kto[0-9a-f]+@/{split($2, a, "@"); print a[1]}'); do
  ip link delete "$link" 2>/dev/null && found=$((found + 1))
done
for dir in /var/lib/kindling/kt-* /run/kindling/kt-* /etc/netns/kl-kt-*; do
  [ -e "$dir" ] && rm -rf "$dir" && found=$((found + 1))
done
# The tests' own kubeconfig (their clusters' contexts, each removed by its delete): always left, always removed.
rm -rf /tmp/kt-kubeconfig-*
if [ "$found" -gt 0 ]; then
  echo "sweep: removed $found leftovers of test clusters (a test process was killed?)" >&2
fi
exit 0
