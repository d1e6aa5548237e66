# nixcross: the two commands README promises are `make demo` (the main job,
# offline) and `make test` (the whole suite). Both expect a Docker daemon;
# scripts/provision.sh sets one up on a fresh Debian machine.
GO        ?= go
BIN       := bin/nixcross
SYSTEM    ?= aarch64-linux
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: build demo test unit integration bench clean

build:
	$(GO) build -o $(BIN) ./cmd/nixcross

# The main job, offline: cross-build the example flake for $(SYSTEM) and
# show what came back.
demo: build
	@dir=$$(mktemp -d) && \
	$(GO) run ./examples/prepare -o $$dir/flake -systems $(SYSTEM) && \
	cd $$dir && $(CURDIR)/$(BIN) build ./flake --system $(SYSTEM) --option substituters '' --verify && \
	echo "--- $$dir/result:" && ls -l result/ result/bin && cat result/share/arch result/share/greeting

unit:
	$(GO) vet ./...
	$(GO) test -race ./...

integration: build
	$(GO) test -tags integration -count=1 -timeout 50m -p 1 ./integration/ ./internal/...

# The whole suite: unit tests, then the integration tests against the daemon.
test: unit integration

bench: build
	$(GO) test ./bench/... -run '^$$' -bench . -benchtime 1x -timeout 30m

clean:
	rm -rf bin
