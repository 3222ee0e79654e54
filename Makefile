GO      ?= go
BIN     := bin/sluice
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build run test test-short vet lint fmt bench fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

# Runs sluice with the sample config (proxy :8080, admin 127.0.0.1:8081).
run: build
	./$(BIN) serve --config sluice.yaml

# Every test, with the race detector. This is what CI runs (via .ci/run).
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...

test-short:
	$(GO) test -count=1 ./...

vet:
	@out=$$(gofmt -l . 2>&1); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

lint: vet
	staticcheck ./...

fmt:
	gofmt -w .

# Go benchmarks for the hot path (router, proxy) with allocation counts.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/router ./internal/proxy ./internal/h1 ./internal/upstream

# The load harness against nginx, HAProxy and Caddy; writes BENCHMARKS.md.
bench-peers: build
	bench/run.sh

# Each fuzz target for a short while.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCanonicalize -fuzztime 30s ./internal/router
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/config

clean:
	rm -rf bin
