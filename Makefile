# ATCR — the two commands a person needs are `make run` and `make test`.
# Everything else here is a step of those two, or a tool for developers.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X atcr.io/pkg/version.Version=$(VERSION)
GOFLAGS_BUILD := -ldflags "$(LDFLAGS)"

# Every compile without the race detector uses one configuration, the one
# Dockerfile.appview and Dockerfile.hold build with: CGO_ENABLED=0 and
# -trimpath. The go command's cache keys include both, so `make check`'s vet,
# the grype packages' tests, `make build`, the e2e tests and the compose
# test's image builds (which take the host's compiled packages through
# test/stack/gocacheprog) then share one compile of each of the hold's ~2,000
# packages; with CGO on in some and off in others a fresh machine compiled
# them three times. The race detector needs cgo, and its compile is its own
# anyway (`make unit` drops -trimpath there: a test may locate itself with
# runtime.Caller).
export CGO_ENABLED := 0
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)

# cmd/<dir> builds bin/<name>.
binary_name = $(or $(word 2,$(subst =, ,$(filter $(1)=%,appview=atcr-appview hold=atcr-hold deploy=atcr-deploy))),$(1))
COMMANDS := $(notdir $(wildcard cmd/*))

.PHONY: help
help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z0-9_-]+:.*## /{printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build every binary into bin/
	@mkdir -p $(BIN)
	@$(foreach c,$(COMMANDS),echo "go build -o $(BIN)/$(call binary_name,$(c)) ./cmd/$(c)" && $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/$(call binary_name,$(c)) ./cmd/$(c) &&) true

.PHONY: run
run: build ## run the local stack (PLC, PDS, hold, AppView) on loopback; Ctrl-C stops it
	test/stack/run.sh

.PHONY: stack-deps
stack-deps: ## install what the stack needs (Node 22 + PDS under test/, caddy, OCI clients)
	test/stack/install.sh

.PHONY: test
test: check unit fuzz e2e conformance ## everything CI runs: format/vet checks, unit and integration tests, fuzzing, end-to-end tests, OCI conformance

.PHONY: check
check: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e,stack ./test/...

# The packages whose tests link grype and syft (about 900 modules): compiling
# those with the race detector as well as without it (for the binaries) would
# nearly double a cold CI build, so they run without it. Their own concurrency
# (concurrent scans, database swaps) is exercised by their tests all the same;
# every other package runs with -race. Heap bounds mean nothing under the race
# detector (memory_test.go is built without it), so they get a race-free pass.
GRYPE_PACKAGES := ./cmd/hold ./pkg/hold/scan/grypescan ./pkg/hold/scan/scantest ./pkg/hold/scan/vulndb

.PHONY: unit
unit: stack-deps ## unit and integration tests (embedded S3, in-process servers, caddy validate), with the race detector (not for the grype packages)
	CGO_ENABLED=1 GOFLAGS="$(filter-out -trimpath,$(GOFLAGS))" ATCR_REQUIRE_CHROMIUM=1 ATCR_REQUIRE_DEPLOY_TOOLS=1 ATCR_REQUIRE_POSTGRES=1 ATCR_REQUIRE_REDIS=1 \
		$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -x -F $(foreach p,$(GRYPE_PACKAGES),-e atcr.io/$(patsubst ./%,%,$(p))))
	$(GO) test -count=1 $(GRYPE_PACKAGES)
	$(GO) test -count=1 -run 'HeapIsBounded$$' ./pkg/appview/registry

# FUZZTIME per target; `go test -fuzz` takes one target per run.
FUZZTIME ?= 3s

.PHONY: fuzz
fuzz: ## every fuzz target (func FuzzX in pkg/, internal/, cmd/) for FUZZTIME each (default 3s); crashers land in testdata/fuzz/
	FUZZTIME=$(FUZZTIME) test/fuzz/run.sh

.PHONY: e2e
e2e: build stack-deps ## end-to-end tests in a private network namespace (Caddy TLS, real PDS and PLC), the cluster shape (two AppViews, PostgreSQL, Redis), then the production compose stack (Docker, the real Dockerfiles)
	test/stack/e2e.sh
	test/stack/e2e.sh cluster
	test/stack/e2e.sh compose

.PHONY: generate
generate: ## regenerate Go types from lexicons/
	$(GO) generate ./...

.PHONY: clean
clean: ## remove built binaries and local stack state
	rm -rf $(BIN) var

.PHONY: conformance
conformance: build stack-deps ## OCI conformance suite (every feature) against the e2e stack, then its cluster shape; results in var/conformance/results, var/conformance/cluster/results
	test/conformance/run.sh
	test/conformance/run.sh --cluster

.PHONY: bench
bench: build stack-deps ## ATCR vs distribution v3.1.2: push/pull 50 and 500 MiB, manifest GET/s, AppView RSS; var/bench/results.md
	bench/run.sh

.PHONY: bench-scan
bench-scan: ## the hold's scanning engine vs the grype CLI (same version and database): time and peak RSS, 50 and 500 MiB; var/bench/scan.tsv
	bench/scan.sh
