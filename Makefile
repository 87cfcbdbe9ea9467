# parley: the two commands are `make run` and `make test` (`make fuzz` fuzzes longer).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run test build check browser vet bench clean docker fuzz fuzz-smoke

## run: start parley on its defaults (http://localhost:8080, data in ./data)
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/parley serve

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/parley ./cmd/parley

## test: gofmt, go vet, every fuzz target for a few seconds (fuzz-smoke), and every test with the race detector (installs Chromium and Firefox ESR for the browser tests when missing)
# One test binary at a time (-p 1): the browser tests need the CPU a real browser gets (Chrome drops
# simulcast layers and frames when starved), and the NACK-flood test compares CPU times.
test: browser check fuzz-smoke
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...

# FUZZTIME is how long `make fuzz` runs each target; FUZZFLAGS go to every
# `go test -fuzz` (minimising a new input may otherwise take up to 60s).
FUZZTIME  ?= 60s
FUZZFLAGS ?= -fuzzminimizetime=5s

## fuzz: run every Fuzz target in the module for FUZZTIME each (default 60s), one after another; a crasher is written to the package's testdata/fuzz
fuzz:
	@GO="$(GO)" ./scripts/fuzz.sh $(FUZZTIME) $(FUZZFLAGS)

## fuzz-smoke: every Fuzz target for 3s (part of make test, so the targets keep working)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

check:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## browser: install Debian's chromium and firefox-esr for the browser tests if they are missing
browser:
	@pkgs=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || pkgs="chromium"; \
	command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || pkgs="$${pkgs:+$$pkgs }firefox-esr"; \
	if [ -n "$$pkgs" ]; then \
		echo "installing $$pkgs for the browser tests"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$pkgs; \
	fi

## bench: load benchmark (~4 min, parley-load against a real server) plus the sfu Go benchmarks; writes docs/benchmarks.md
bench:
	./scripts/bench.sh

clean:
	rm -rf bin

## docker: the container image, tagged parley:$(VERSION) and parley:latest, with the version linked in
docker:
	docker build --build-arg VERSION=$(VERSION) -t parley:$(subst +,-,$(VERSION)) -t parley:latest .
