# pcapx — see README.md. Every target works on a fresh machine with Go installed.
GO      ?= go
BIN     := bin/pcapx
PKGS    := ./...
FUZZTIME ?= 30s
export CGO_ENABLED := 0

.PHONY: build test demo bench bench-compare rss fuzz lint fixtures clean

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/pcapx

# The test command CI runs (.ci/run). Conformance checks against the real
# captures in ../shared run when that folder is present and skip otherwise.
# ./... skips directories named testdata, so the fixture generator (whose
# test fails when a committed fixture is stale) is named explicitly.
#
# Then the race detector over the packages that start goroutines (a go
# statement, sync.WaitGroup.Go or errgroup outside tests), found afresh on
# every run so a package that starts one is covered from then on. -short
# leaves out their slowest tests (the race detector makes everything 5-10
# times slower); the detector needs cgo.
RACE_RE := '^[[:space:]]*go (func|[[:alnum:]_.]+[(])|[.]Go[(]|errgroup[.]'
RACE_PKGS = $(shell grep -rlE --include='*.go' --exclude='*_test.go' $(RACE_RE) . | grep -v '/testdata/' | xargs -r -n1 dirname | sort -u)
test:
	$(GO) vet $(PKGS) ./testdata/gen
	$(GO) test -count=1 $(PKGS) ./testdata/gen
	CGO_ENABLED=1 $(GO) test -race -short -count=1 $(RACE_PKGS)

# Analyse the bundled sample capture: the terminal summary, the Parquet tables
# and report.html in out/, and the JSON document in out/demo.json.
demo: build
	@mkdir -p out
	./$(BIN) analyze -o out testdata/captures/demo.pcapng
	./$(BIN) analyze --format json testdata/captures/demo.pcapng > out/demo.json
	@echo "Report: out/report.html   Tables: out/*.parquet   JSON: out/demo.json"

# Benchmarks on a generated capture of >= 200 MB (written once to
# $(BENCH_CAPTURE), not committed).
BENCH_CAPTURE ?= $(CURDIR)/.bench/mixed-250MB.pcap
bench:
	@mkdir -p $(dir $(BENCH_CAPTURE))
	@test -s $(BENCH_CAPTURE) || $(GO) run ./testdata/gen -big $(BENCH_CAPTURE) -size 250MB
	PCAPX_BENCH_CAPTURE=$(BENCH_CAPTURE) $(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -cpu 1,2 ./analyze/... ./report/parquet

# pcapx against the raw read loop and tshark on a generated 1 GB capture
# (written once to $(BENCH_BIG), not committed): wall time, peak RSS and
# the ratios, three runs each, in one table (docs/tools.md).
BENCH_BIG ?= $(CURDIR)/.bench/mixed-1GB.pcap
BENCH_RUNS ?= 3
bench-compare: build $(BENCH_BIG)
	$(GO) build -trimpath -o bin/readloop ./internal/tools/readloop
	$(GO) run ./internal/tools/benchcompare -pcapx $(BIN) -readloop bin/readloop -runs $(BENCH_RUNS) $(BENCH_BIG)

# Peak RSS of the built command on the hostile captures (SYN flood,
# slowloris, DNS flood, fragment flood, closed connections), with and
# without -o, against the memory budget: about a minute and a half and
# 760 MB of generated captures (one at a time).
rss:
	PCAPX_RSS=1 $(GO) test -count=1 -run TestHostileRSS -v ./cmd/pcapx

# Written under a temporary name, so an interrupted run leaves no short file.
$(BENCH_BIG):
	@mkdir -p $(dir $@)
	$(GO) run ./testdata/gen -big $@.tmp -size 1GB
	mv $@.tmp $@

# Run every fuzz target for FUZZTIME each; new crashers land in testdata/fuzz.
# -fuzzminimizetime 1x: minimising every new-coverage input of FuzzReplay
# (tables of tens of KB) would take the whole FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1x $$pkg || exit 1; \
	  done; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS) ./testdata/gen

# Regenerate the fixture captures in testdata/captures.
fixtures:
	$(GO) run ./testdata/gen

clean:
	rm -rf bin out .bench
