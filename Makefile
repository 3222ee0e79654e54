GO      ?= go
BIN     := bin/sluice
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build build-go console console-test node-sdks run test test-short vet lint fmt bench fuzz clean

all: build

# The binary with the web console built into it (see docs/console.md).
build: console build-go

# The binary alone: it embeds whatever internal/console/dist holds (a page
# saying how to build the console, on a fresh clone).
build-go:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

# Builds the web console (web/) into internal/console/dist. Without npm it
# says so and leaves dist as it is.
console:
	@if command -v npm >/dev/null; then \
		cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	else \
		echo "make: npm not found: building sluice without the web console (see docs/console.md)"; \
	fi

# The console's end-to-end test in headless Chromium; refreshes docs/screenshots.
console-test: console
	SLUICE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestConsoleEndToEnd -v ./internal/console

# Runs sluice with the sample config (proxy :8080, admin and console on
# http://127.0.0.1:8081).
run: build
	./$(BIN) serve --config sluice.yaml

# The official Node SDKs for the AI gateway's Node test (lockfile).
node-sdks:
	@if command -v npm >/dev/null; then \
		cd internal/ai/testdata/node && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }; \
	else \
		echo "make: npm not found: the Node SDK test will skip"; \
	fi

# Every test, with the race detector. This is what CI runs (via .ci/run).
test: vet console node-sdks
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
	$(GO) test -run '^$$' -fuzz '^FuzzSSEReader$$' -fuzztime 30s ./internal/ai/llm
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChat$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEmbeddings$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzStream$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzChunkScanner$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzRequestScanner$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzAnswerEncoding$$' -fuzztime 30s ./internal/ai/providers/openai
	$(GO) test -run '^$$' -fuzz '^FuzzAppendStd$$' -fuzztime 30s ./internal/jsonenc
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeMessages$$' -fuzztime 30s ./internal/ai/providers/anthropic
	$(GO) test -run '^$$' -fuzz '^FuzzStream$$' -fuzztime 30s ./internal/ai/providers/anthropic
	$(GO) test -run '^$$' -fuzz '^FuzzEventScanner$$' -fuzztime 30s ./internal/ai/providers/anthropic
	$(GO) test -run '^$$' -fuzz '^FuzzMessageScanner$$' -fuzztime 30s ./internal/ai/providers/anthropic
	$(GO) test -run '^$$' -fuzz '^FuzzRequestScanner$$' -fuzztime 30s ./internal/ai/providers/anthropic

clean:
	rm -rf bin
