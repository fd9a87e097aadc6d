# kubectl crimig: developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/crimig/kubectl-crimig/pkg/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
BIN     := bin/kubectl-crimig
PREFIX  ?= /usr/local
GOTEST  ?= go test

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/kubectl-crimig
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/kubectl-crimig

.PHONY: install
install: build ## Install kubectl-crimig and its completion helper into $(PREFIX)/bin
	install -m 0755 $(BIN) $(PREFIX)/bin/kubectl-crimig
	install -m 0755 kubectl_complete-crimig $(PREFIX)/bin/kubectl_complete-crimig

.PHONY: verify
verify: ## gofmt, go mod tidy, no tracked binaries, shellcheck
	hack/verify-gofmt.sh
	hack/verify-gomod.sh
	hack/verify-no-binaries.sh
	hack/verify-shellcheck.sh

.PHONY: lint
lint: verify ## go vet, golangci-lint and shellcheck
	go vet ./...
	"$$(hack/install-tools.sh golangci-lint)" run ./...

.PHONY: unit
unit: ## Unit tests (no cluster)
	$(GOTEST) -count=1 $$(go list ./... | grep -v -e /test/e2e -e /test/realnode)

.PHONY: e2e
e2e: sandbox-tools ## End-to-end tests against the sandbox cluster (brought up on demand)
	$(GOTEST) -count=1 -timeout 40m ./test/e2e/...

.PHONY: realnode-tools
realnode-tools: ## Build the real node's binaries, its root and CRI-O's bundle (cached)
	hack/realnode/build-tools.sh
	hack/realnode/rootfs.sh
	hack/realnode/bundle.sh >/dev/null

.PHONY: e2e-realnode
e2e-realnode: sandbox-tools realnode-tools ## Migrate a real systemd node (docker, cri-dockerd, kubelet) to CRI-O and containerd (root)
	$(GOTEST) -count=1 -timeout 60m -v ./test/realnode/...

.PHONY: release-check
release-check: ## Snapshot release + krew install from it, offline
	hack/release-check.sh

.PHONY: test
test: lint unit release-check e2e e2e-realnode ## Everything CI runs

.PHONY: sandbox-tools
sandbox-tools: ## Build the sandbox's control-plane binaries (cached)
	hack/build-sandbox-tools.sh

.PHONY: sandbox-up
sandbox-up: ## Start the local sandbox cluster (.sandbox/kubeconfig)
	hack/sandbox-up.sh

.PHONY: sandbox-down
sandbox-down: ## Stop the sandbox and remove its state
	hack/sandbox-down.sh

.PHONY: demo
demo: build ## Sandbox + workloads, then plan and migrate one node, then status
	hack/demo.sh

.PHONY: bench-scale
bench-scale: build sandbox-tools ## Plan and status at fleet scale against the raw API floor (BENCH_NODES, BENCH_PODS, BENCH_RATE, BENCH_RUNS)
	hack/bench/scale.sh

.PHONY: bench-hostfacts
bench-hostfacts: build sandbox-tools ## plan with host facts on 1 node and on BENCH_HOSTFACTS_NODES (200) simulated nodes
	hack/bench/hostfacts.sh

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin dist
