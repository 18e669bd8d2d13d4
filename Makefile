# tailgate: `make demo` and `make test` are the two set-up commands.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X tailgate/cmd/cli.Version=$(VERSION) -X tailgate/cmd/cli.Commit=$(COMMIT)
BIN       := bin/tailgate
FUZZTIME  ?= 2s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.1.4

.PHONY: all build test unit fuzz-short fuzz lint vet demo bench bench-go bench-load soak clean \
	release release-check release-build image actionlint

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tailgate

## test: everything CI runs: format, vet, staticcheck, actionlint, every release platform builds,
## unit tests with -race, short fuzzing.
test: vet actionlint release-check unit fuzz-short

unit:
	$(GO) test -race -count=1 -timeout 15m ./...
	# Without -race: the memory bound, and the change points' false-alarm rate over 200 series.
	$(GO) test -count=1 -run 'TestMemory|TestChangeFalseAlarmRate' ./analysis/
	# Without -race too: the fast client's raw socket calls are only made then.
	$(GO) test -count=1 ./targets/h1/

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## release: static binaries for every platform in PLATFORMS, version and commit stamped, into
## DIST (dist/) as tailgate-OS-ARCH[.exe], with DIST/SHA256SUMS. deploy/Dockerfile builds with
## the same RELEASE_FLAGS (TestReleaseFlagsMatchDockerfile checks).
PLATFORMS     := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST          ?= dist
RELEASE_ENV   := CGO_ENABLED=0
RELEASE_FLAGS := -trimpath -buildvcs=false -ldflags "-s -w $(LDFLAGS)"
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
	  echo "$$os/$$arch -> $(DIST)/tailgate-$$os-$$arch$$ext"; \
	  $(RELEASE_ENV) GOOS=$$os GOARCH=$$arch $(GO) build $(RELEASE_FLAGS) \
	    -o $(DIST)/tailgate-$$os-$$arch$$ext ./cmd/tailgate || exit 1; \
	done
	cd $(DIST) && { command -v sha256sum >/dev/null && sha256sum tailgate-* || shasum -a 256 tailgate-*; } > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

## release-build: the build command of `make release` (one platform), for the Dockerfile test.
release-build:
	@echo '$(RELEASE_ENV) go build $(RELEASE_FLAGS) -o /tailgate ./cmd/tailgate'

## release-check (part of test): every release platform builds, and vets with its tests
## (cross-compiling needs no network); the binaries go to a temporary directory.
release-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(MAKE) --no-print-directory release DIST="$$tmp" >/dev/null && echo "release: $(PLATFORMS) build"
	@for p in darwin/arm64 windows/amd64; do echo "go vet ./... ($$p)"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./... || exit 1; done

## image: the container image (deploy/Dockerfile), version and commit stamped.
image:
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t tailgate:$(VERSION) .

## actionlint (part of test): the GitHub workflows in docs/ci and action.yml (as a workflow:
## actionlint reads no action metadata), with shellcheck on their scripts and on the Action's.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
WORKFLOWS  := $(filter-out docs/ci/gitlab-ci.yml,$(wildcard docs/ci/*.yml))
actionlint:
	@command -v shellcheck >/dev/null || { echo "actionlint: shellcheck is required (apt-get install shellcheck)"; exit 1; }
	$(GO) run $(ACTIONLINT) -shellcheck=shellcheck $(WORKFLOWS)
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && $(GO) run ./scripts/actioncheck action.yml >"$$tmp" && \
	  echo "actionlint action.yml (as a workflow)" && \
	  $(GO) run $(ACTIONLINT) -shellcheck=shellcheck -stdin-filename action.yml - <"$$tmp"
	shellcheck scripts/*.sh

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

## bench-load: every peer at its pinned version (bench-tools), then tailgate (default timing, and
## --timer-slack 1ms and --precise-timers rows) beside wrk2/wrk/fortio/vegeta/hey/ghz and bench/floor
## on loopback, the machine printed, one table (~30 min): bench/out/load.md, and docs/performance.md's
## table replaced with it. LOADBENCH_FLAGS e.g. '-tools tailgate,wrk2 -scenarios slow -runs 5'.
LOADBENCH_DOC ?= docs/performance.md
bench-load: build bench-tools
	@mkdir -p bench/out
	$(GO) run ./bench/loadbench -bin $(BIN) -tools-dir bin/tools -runs 3 -md bench/out/load.md \
	  $(if $(LOADBENCH_DOC),-doc $(LOADBENCH_DOC)) $(LOADBENCH_FLAGS)

## bench-tools: the load generators bench-load compares with, at pinned versions, into bin/tools
## (scripts/bench-peers.sh): fortio v1.68.2, hey v0.1.5, vegeta v12.13.0, ghz v0.120.0 by go install
## (go.mod and go.sum untouched; fortio v1.69 and later need grol.io/grol, which the module proxy here
## refuses); wrk2 built from github.com/giltene/wrk2 at a pinned commit outside the repository
## (WRK2_SRC=a clone to build from); wrk from Debian (apt-get, as root).
.PHONY: bench-tools
bench-tools:
	scripts/bench-peers.sh

## soak: an hour at 5,000 req/s against the demo target (SOAK_DURATION, SOAK_RATE); prints the RSS curve
## (every 10 s for 2 minutes, then every minute) with the peak in flight and the workers, the fit
## RSS ≈ base + cost × workers, and fails if RSS spreads over 2 % after minute 2 (not in CI).
soak: build
	$(GO) run ./bench/soak -bin $(BIN) -duration $${SOAK_DURATION:-1h} -rate $${SOAK_RATE:-5000}

clean:
	rm -rf bin dist demo-run.json
