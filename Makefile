# tailgate: `make demo` and `make test` are the two set-up commands.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X tailgate/cmd/cli.Version=$(VERSION)
BIN       := bin/tailgate
FUZZTIME  ?= 2s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.1.4

.PHONY: all build test unit fuzz-short fuzz lint vet demo bench bench-go bench-load soak clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tailgate

## test: everything CI runs: format, vet, staticcheck, unit tests with -race, short fuzzing.
test: vet unit fuzz-short

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -run 'TestMemory' ./analysis/
	# Without -race too: the fast client's raw socket calls are only made then.
	$(GO) test -count=1 ./targets/h1/

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fuzz-short: every Fuzz target for FUZZTIME (2s) each; fuzz: 1 minute each.
fuzz-short:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

fuzz:
	FUZZTIME=60s scripts/fuzz.sh

lint: vet
	$(GO) run $(GOVULNCHECK) ./...

## demo: build, start the embedded demo target, load it, print the table, write demo-run.json.
demo: build
	$(BIN) demo --out demo-run.json

## bench: Go micro-benchmarks and the loopback load benchmark.
bench: bench-go bench-load

## bench-go: the schedule, the recorder, request rendering and the fast client, 6 runs each,
## compared by benchstat with docs/bench/go-baseline.txt (BENCH_COUNT to change the count).
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench-go:
	@mkdir -p bench/out
	$(GO) test -run '^$$' -bench . -benchmem -count $${BENCH_COUNT:-6} ./generator/ ./analysis/ ./targets/h1/ | tee bench/out/go.txt
	$(GO) run $(BENCHSTAT) docs/bench/go-baseline.txt bench/out/go.txt

## bench-load: tailgate (and a --timer-slack 1ms row) beside wrk/wrk2/fortio/vegeta/hey/ghz and bench/floor on loopback, one table (~16 min);
## LOADBENCH_FLAGS e.g. '-tools tailgate,wrk -runs 5 -md bench.md'. Other tools: make bench-tools.
bench-load: build
	$(GO) run ./bench/loadbench -bin $(BIN) -tools-dir bin/tools -runs 3 $(LOADBENCH_FLAGS)

## bench-tools: the Go load generators bench-load compares with, at pinned versions, into bin/tools
## (go install pkg@version: go.mod and go.sum are untouched). fortio v1.69 and later need grol.io/grol,
## which the module proxy here refuses (403). wrk: apt-get install -y wrk; wrk2 is built by hand (WRK2=path).
BENCH_TOOLS := fortio.org/fortio@v1.68.2 github.com/rakyll/hey@v0.1.5 \
	github.com/tsenart/vegeta/v12@v12.13.0 github.com/bojand/ghz/cmd/ghz@v0.120.0
.PHONY: bench-tools
bench-tools:
	@for p in $(BENCH_TOOLS); do echo "GOBIN=$(CURDIR)/bin/tools $(GO) install $$p"; \
	  GOBIN=$(CURDIR)/bin/tools $(GO) install $$p || exit 1; done

## soak: an hour at 1,000 req/s against the demo target, RSS sampled each minute (not in CI).
soak: build
	$(GO) run ./bench/soak -bin $(BIN) -duration $${SOAK_DURATION:-1h}

clean:
	rm -rf bin demo-run.json
