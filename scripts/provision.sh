#!/usr/bin/env bash
# Provision what nixcross and its test suite need on a fresh Debian machine:
# a running Docker daemon and the builder image's base image. Safe to rerun:
# every step checks first and does nothing when the machine already has it.
#
#   sudo scripts/provision.sh            # as root, or a user with sudo
#
# BASE_IMAGE/SUITE override the base image (default debian:trixie-slim from
# trixie). The test suite and the emulation benchmark also use bookworm
# (Nix 2.8, QEMU 7.2) as the image nixcross must refuse and the old QEMU to
# compare with: OLD_BASE_IMAGE/OLD_SUITE, "" to skip.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-debian:trixie-slim}"
SUITE="${SUITE:-trixie}"
OLD_BASE_IMAGE="${OLD_BASE_IMAGE-debian:bookworm-slim}"
OLD_SUITE="${OLD_SUITE:-bookworm}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf 'provision: %s\n' "$*" >&2; }

apt_install() {
	if [ -z "${APT_UPDATED:-}" ]; then
		$SUDO apt-get update -q >/dev/null
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure_daemon() {
	if docker info >/dev/null 2>&1; then
		log "docker daemon answers"
		return
	fi
	if ! command -v dockerd >/dev/null 2>&1; then
		log "installing Debian's docker.io"
		apt_install docker.io
	fi
	if ! command -v docker >/dev/null 2>&1; then
		apt_install docker.io
	fi
	if $SUDO docker info >/dev/null 2>&1; then
		log "the daemon runs, but $(id -un) may not use its socket: sudo usermod -aG docker $(id -un), then log in again"
		exit 1
	fi
	log "starting dockerd (log: /var/log/nixcross-dockerd.log)"
	# setsid: the daemon must not die with this script's process group.
	$SUDO sh -c 'setsid nohup dockerd >/var/log/nixcross-dockerd.log 2>&1 </dev/null &'
	for _ in $(seq 1 60); do
		if docker info >/dev/null 2>&1; then
			log "docker daemon is up"
			return
		fi
		sleep 1
	done
	log "dockerd did not answer within 60s; last lines of its log:"
	tail -20 /var/log/nixcross-dockerd.log >&2 || true
	exit 1
}

# host_mirror: the Debian mirror this machine reaches.
. "$(dirname "$0")/mirror.sh"

# ensure_base_image IMAGE SUITE: pull IMAGE, or make it from Debian SUITE.
ensure_base_image() {
	local image=$1 suite=$2
	if docker image inspect "$image" >/dev/null 2>&1; then
		log "base image $image present"
		return
	fi
	if timeout 30 docker pull -q "$image" >/dev/null 2>&1; then
		log "pulled $image"
		return
	fi
	command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
	local mirror rootfs
	mirror=$(host_mirror)
	rootfs=$(mktemp -d /var/tmp/nixcross-rootfs.XXXXXX)
	trap 'rm -rf "$rootfs"' RETURN
	log "no registry: debootstrap $suite from $mirror into $rootfs"
	$SUDO debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"/var/log/nixcross-debootstrap-$suite.log" 2>&1 || {
		tail -20 "/var/log/nixcross-debootstrap-$suite.log" >&2
		exit 1
	}
	# Same mirror inside the image, so Dockerfile.nix's apt-get reaches it;
	# one-line format, which bookworm and trixie both read.
	$SUDO rm -f "$rootfs"/etc/apt/sources.list.d/*.sources
	echo "deb $mirror $suite main" | $SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null
	$SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
	$SUDO tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$image" >/dev/null
	log "imported $image"
}

# The test suite also reaches the daemon through ssh:// (a throwaway sshd
# on loopback), needs a terminal for the shell test (script(1)), and runs
# the GitHub Action's scripts, which read nixcross's JSON with jq and fetch
# with curl (as on GitHub's runners).
ensure_test_tools() {
	local missing=()
	command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
	command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
	command -v script >/dev/null 2>&1 || missing+=(bsdutils)
	command -v git >/dev/null 2>&1 || missing+=(git)
	command -v jq >/dev/null 2>&1 || missing+=(jq)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	# Host-side Nix reads a --to-cache cache the way a user's machine would.
	command -v nix >/dev/null 2>&1 || missing+=(nix-bin)
	# The image tests push to Debian's registry (Distribution 2.8), which
	# they start on a free loopback port, and read it back with skopeo, a
	# client independent of nixcross's library.
	local new_registry=""
	command -v docker-registry >/dev/null 2>&1 || { missing+=(docker-registry); new_registry=1; }
	command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		apt_install "${missing[@]}"
	fi
	# The package starts a registry on :5000 where systemd runs; the tests
	# need none, and a machine should not serve one by surprise (one the
	# user had already is left as it is).
	if [ -n "$new_registry" ] && command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
	fi
}

# Podman as a second engine (README promises it; `make integration-podman`
# runs the core path against it): Debian's podman, its Docker-compatible
# service on PODMAN_SOCKET, and the base image copied from Docker. Rootful
# Podman sets rlimits above a container host's hard limits by default
# ("error setting rlimit type 7"), so containers.conf asks for the host's.
PODMAN_SOCKET="${PODMAN_SOCKET:-/run/podman/podman.sock}"
ensure_podman() {
	command -v podman >/dev/null 2>&1 || { log "installing Debian's podman"; apt_install podman; }
	if [ ! -f /etc/containers/containers.conf ]; then
		local nofile nproc
		nofile=$(ulimit -Hn)
		nproc=$(ulimit -Hu)
		[ "$nofile" = unlimited ] && nofile=1048576
		{ [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
		$SUDO mkdir -p /etc/containers
		printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" |
			$SUDO tee /etc/containers/containers.conf >/dev/null
		log "wrote /etc/containers/containers.conf (nofile $nofile, nproc $nproc: the host's hard limits)"
	fi
	if ! DOCKER_HOST="unix://$PODMAN_SOCKET" docker version >/dev/null 2>&1; then
		log "starting podman system service on $PODMAN_SOCKET (log: /var/log/nixcross-podman.log)"
		$SUDO mkdir -p "$(dirname "$PODMAN_SOCKET")"
		$SUDO sh -c "setsid nohup podman system service --time=0 unix://$PODMAN_SOCKET >/var/log/nixcross-podman.log 2>&1 </dev/null &"
		for _ in $(seq 1 30); do
			DOCKER_HOST="unix://$PODMAN_SOCKET" docker version >/dev/null 2>&1 && break
			sleep 1
		done
	fi
	if ! $SUDO podman image exists "$BASE_IMAGE"; then
		log "copying $BASE_IMAGE from Docker to Podman"
		docker save "$BASE_IMAGE" | $SUDO podman load -q >/dev/null
	fi
}

# Rootless Docker as a third engine (`make integration-rootless`): a user
# with subordinate IDs runs Debian's dockerd-rootless.sh (rootlesskit,
# slirp4netns) on its own socket. Without udev, /dev/net/tun is root's
# alone: the user gets access to it through an ACL.
ROOTLESS_USER="${ROOTLESS_USER:-nixcross-rootless}"
ensure_rootless() {
	local missing=()
	command -v rootlesskit >/dev/null 2>&1 || missing+=(rootlesskit)
	command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
	command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
	command -v setfacl >/dev/null 2>&1 || missing+=(acl)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]} (rootless Docker)"
		apt_install "${missing[@]}"
	fi
	id "$ROOTLESS_USER" >/dev/null 2>&1 || $SUDO useradd -m -s /bin/sh "$ROOTLESS_USER"
	grep -q "^$ROOTLESS_USER:" /etc/subuid || echo "$ROOTLESS_USER:231072:65536" | $SUDO tee -a /etc/subuid >/dev/null
	grep -q "^$ROOTLESS_USER:" /etc/subgid || echo "$ROOTLESS_USER:231072:65536" | $SUDO tee -a /etc/subgid >/dev/null
	$SUDO setfacl -m "u:$ROOTLESS_USER:rw" /dev/net/tun
	local uid runtime sock
	uid=$(id -u "$ROOTLESS_USER")
	runtime=/run/user/$uid
	sock=$runtime/docker.sock
	$SUDO mkdir -p "$runtime"
	$SUDO chown "$ROOTLESS_USER:" "$runtime"
	$SUDO chmod 700 "$runtime"
	as_rootless() { $SUDO runuser -u "$ROOTLESS_USER" -- env HOME="$(getent passwd "$ROOTLESS_USER" | cut -d: -f6)" XDG_RUNTIME_DIR="$runtime" DOCKER_HOST="unix://$sock" PATH="/usr/share/docker.io/contrib:/usr/sbin:/usr/bin:/sbin:/bin" "$@"; }
	if ! as_rootless docker version >/dev/null 2>&1; then
		log "starting rootless dockerd as $ROOTLESS_USER on $sock (log: /var/log/nixcross-rootless-dockerd.log)"
		$SUDO touch /var/log/nixcross-rootless-dockerd.log
		$SUDO chown "$ROOTLESS_USER:" /var/log/nixcross-rootless-dockerd.log
		as_rootless sh -c 'setsid nohup dockerd-rootless.sh >/var/log/nixcross-rootless-dockerd.log 2>&1 </dev/null &'
		for _ in $(seq 1 60); do
			as_rootless docker version >/dev/null 2>&1 && break
			sleep 1
		done
		as_rootless docker version >/dev/null 2>&1 || { tail -20 /var/log/nixcross-rootless-dockerd.log >&2; exit 1; }
	fi
	if ! as_rootless docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
		log "copying $BASE_IMAGE from Docker to $ROOTLESS_USER's rootless daemon"
		docker save "$BASE_IMAGE" | as_rootless docker load -q >/dev/null
	fi
}

ensure_daemon
# The two debootstraps (about five minutes each) run side by side.
command -v debootstrap >/dev/null 2>&1 || docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || apt_install debootstrap
ensure_base_image "$BASE_IMAGE" "$SUITE" &
base=$!
if [ -n "$OLD_BASE_IMAGE" ]; then
	ensure_base_image "$OLD_BASE_IMAGE" "$OLD_SUITE"
fi
wait "$base"
ensure_test_tools
ensure_podman
ensure_rootless
