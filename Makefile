# kindling: `make cluster-up` brings up a 3-node cluster; `make test` runs every test (as root).
SWIFT ?= swift
CLUSTER ?= kindling
CONFIG ?= config/kindling.yaml
RELEASE_BIN := .build/release/kindling

.PHONY: all deps build release install lint test unit integration cluster-up cluster-down bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product kindling

# Puts kindling on PATH, so `kindling get pods` works as the README shows it.
install: release
	install -m 0755 $(RELEASE_BIN) /usr/local/bin/kindling

# Size limits (files 500 lines, functions 80), line length, whitespace and commit subjects: scripts/lint.py.
lint:
	@python3 scripts/lint.py

# Unit tests (pure parts) and root integration tests (real namespaces) in one run; the sweep afterwards
# removes what a killed test process could not, and the run still fails if any test failed.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test; status=$$?; scripts/sweep-test-leftovers.sh; exit $$status

unit: deps
	$(SWIFT) test --skip KindlingIntegrationTests

integration: deps
	$(SWIFT) test --filter KindlingIntegrationTests; status=$$?; scripts/sweep-test-leftovers.sh; exit $$status

cluster-up: release
	$(RELEASE_BIN) create cluster --name $(CLUSTER) --config $(CONFIG)

cluster-down:
	@if [ -x $(RELEASE_BIN) ]; then $(RELEASE_BIN) delete cluster --name $(CLUSTER); \
	else $(MAKE) release && $(RELEASE_BIN) delete cluster --name $(CLUSTER); fi

# Benchmarks (figures in the README): cluster start-up, then the service proxy's (bench/Sources).
bench: release
	$(SWIFT) build -c release --product kindling-bench
	bench/cluster-up.sh
	.build/release/kindling-bench proxy-sync
	.build/release/kindling-bench datapath
	.build/release/kindling-bench convergence
	.build/release/kindling-bench dns
	.build/release/kindling-bench crash
	.build/release/kindling-bench kubectl
	.build/release/kindling-bench crd
	.build/release/kindling-bench policy
	.build/release/kindling-bench ingress
	.build/release/kindling-bench scale
	.build/release/kindling-bench workloads

clean:
	rm -rf .build
