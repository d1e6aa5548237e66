# nixcross: the two commands README promises are `make demo` (the main job,
# offline) and `make test` (the whole suite). Both expect a Docker daemon;
# scripts/provision.sh sets one up on a fresh Debian machine.
GO        ?= go
BIN       := bin/nixcross
SYSTEM    ?= aarch64-linux
# The image platform of $(SYSTEM), for docker run --platform.
PLATFORM  ?= $(word 2,$(subst =, ,$(filter $(SYSTEM)=%,x86_64-linux=linux/amd64 aarch64-linux=linux/arm64 riscv64-linux=linux/riscv64 armv7l-linux=linux/arm/v7 i686-linux=linux/386 powerpc64le-linux=linux/ppc64le s390x-linux=linux/s390x)))
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: build provision demo test unit cross integration integration-podman integration-rootless integration-docker-sid docker-sid-stop release-snapshot release bench docs clean

build:
	$(GO) build -o $(BIN) ./cmd/nixcross

# A Docker daemon and the base image, set up when missing (idempotent;
# installs with apt, as root or through sudo).
provision:
	bash scripts/provision.sh

# The main job, offline: cross-build the example flake for $(SYSTEM), show
# what came back, and run the program from its image under emulation.
demo: provision build
	@dir=$$(mktemp -d) && \
	$(GO) run ./examples/prepare -o $$dir/flake -systems $(SYSTEM) && \
	cd $$dir && $(CURDIR)/$(BIN) build ./flake --system $(SYSTEM) --option substituters '' --verify --dereference --tag nixcross-demo:$(SYSTEM) --load && \
	echo "--- $$dir:" && ls -l result result/bin && \
	echo "--- what the builder saw, running under emulation:" && cat result/share/arch && \
	echo "--- the runtime dependency, through the copy with links resolved:" && cat result-deref/share/greeting && \
	echo "--- the program from its image (QEMU kept registered for docker run: nixcross binfmt uninstall removes it):" && \
	$(CURDIR)/$(BIN) binfmt install --system $(SYSTEM) && \
	docker run --rm --platform $(PLATFORM) nixcross-demo:$(SYSTEM)

unit: cross
	$(GO) vet ./...
	$(GO) test -race ./...

# macOS and Windows developers are the first audience: the CLI builds for
# them, and its packages with their unit tests pass vet there (the
# benchmarks and the examples are Linux tools).
CROSS := darwin/amd64 darwin/arm64 windows/amd64
cross:
	@set -e; for t in $(CROSS); do \
		echo "cross $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/nixcross; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./cmd/... ./internal/...; \
	done

integration: provision build
	$(GO) test -tags integration -count=1 -timeout 50m -p 1 ./integration/ ./internal/...

# The core path against Podman's Docker-compatible service (provisioning
# starts it): native, emulated and copy-mode builds, --sandbox, shell,
# cache gc/prune, --keep-failed and clean, doctor, a lost connection; and a
# fleet of both engines (aarch64 on Podman, x86_64 on the machine's Docker).
PODMAN_SOCKET ?= /run/podman/podman.sock
PODMAN_TESTS  := TestNativeBuild|TestEmulatedBuild|TestRemoteTCPCopy|TestSandbox$$|TestShellCommand|TestCacheGC|TestPruneGoneFlake|TestKeepFailedAndClean|TestDoctor|TestDaemonLostMidBuild$$|TestFleetTwoEngines
integration-podman: provision build
	DOCKER_HOST=unix://$(PODMAN_SOCKET) NIXCROSS_IT_SECOND_DAEMON=unix:///var/run/docker.sock $(GO) test -tags integration -count=1 -timeout 20m -p 1 -run '$(PODMAN_TESTS)' ./integration/

# The core path on rootless Docker, run as the user provisioning made for
# it, against its own daemon: emulated builds register QEMU in that
# daemon's user namespace (Linux 6.7+), nothing on the host. The test
# binary and nixcross are built here; the user builds only the fixture's
# builder (the standard library alone) with its own Go caches.
ROOTLESS_USER  ?= nixcross-rootless
ROOTLESS_TESTS := TestNativeBuild|TestEmulatedBuild|TestRemoteTCPCopy|TestShellCommand|TestKeepFailedAndClean|TestDoctor|TestRootless
integration-rootless: provision build
	@set -e; uid=$$(id -u $(ROOTLESS_USER)); home=$$(getent passwd $(ROOTLESS_USER) | cut -d: -f6); \
	dir=$$(mktemp -d /tmp/nixcross-rootless.XXXXXX); chmod 755 $$dir; trap 'rm -rf $$dir' EXIT; \
	$(GO) test -c -tags integration -o $$dir/integration.test ./integration/; \
	cp $(BIN) $$dir/nixcross; chmod -R a+rX $$dir; \
	cd integration && runuser -u $(ROOTLESS_USER) -- env -i HOME=$$home USER=$(ROOTLESS_USER) \
		PATH=$(dir $(shell command -v $(GO))):/usr/sbin:/usr/bin:/sbin:/bin \
		XDG_RUNTIME_DIR=/run/user/$$uid DOCKER_HOST=unix:///run/user/$$uid/docker.sock \
		NIXCROSS_IT_BIN=$$dir/nixcross TESTCONTAINERS_RYUK_DISABLED=true GOFLAGS=-buildvcs=false \
		$$dir/integration.test -test.count=1 -test.timeout 20m -test.run '$(ROOTLESS_TESTS)'

# The whole integration suite against a current Docker Engine: Debian
# sid's docker.io (28.x) with the containerd image store, in a sid root
# beside the machine's daemon, on its own socket (scripts/docker-sid.sh;
# the first run debootstraps sid). Not part of `make test`. The daemon
# keeps running afterwards for reruns: `make docker-sid-stop` stops it.
SID_SOCKET ?= /run/nixcross-sid/docker.sock
TESTFLAGS  ?=
integration-docker-sid: provision build
	SID_RUN_DIR=$(patsubst %/,%,$(dir $(SID_SOCKET))) bash scripts/docker-sid.sh start
	DOCKER_HOST=unix://$(SID_SOCKET) $(GO) test -tags integration -count=1 -timeout 60m -p 1 $(TESTFLAGS) ./integration/ ./internal/...

docker-sid-stop:
	SID_RUN_DIR=$(patsubst %/,%,$(dir $(SID_SOCKET))) bash scripts/docker-sid.sh stop

# The whole suite: unit tests, a local release, then the integration tests
# against the daemon, and the core of them against Podman and rootless
# Docker.
test: provision unit release-snapshot integration integration-podman integration-rootless

# Release archives for every host (darwin, linux, windows), checksums.txt,
# shell completions and man pages into dist/, stamped
# <last tag>-SNAPSHOT-<commit>. Builds only; publishes nothing.
release-snapshot:
	$(GO) run ./scripts/release -snapshot -go $(GO)

# The same for a release: HEAD must carry a v* tag and the tree be clean.
# .github/workflows/release.yml runs it on a pushed tag and uploads dist/.
release:
	$(GO) run ./scripts/release -go $(GO)

# The command reference under docs/reference, a page per command, generated
# from the command tree as the man pages are; a unit test fails when the
# checked-in pages are stale.
docs:
	$(GO) run ./scripts/docs

bench: build
	$(GO) test ./bench/... -run '^$$' -bench . -benchtime 1x -timeout 30m

clean:
	rm -rf bin dist
