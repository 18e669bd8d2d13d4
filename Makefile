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

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./generator/ ./analysis/ ./targets/

bench-load: build
	$(GO) run ./bench/loadbench -bin $(BIN)

## soak: an hour at 1,000 req/s against the demo target, RSS sampled each minute (not in CI).
soak: build
	$(GO) run ./bench/soak -bin $(BIN) -duration $${SOAK_DURATION:-1h}

clean:
	rm -rf bin demo-run.json
