#!/usr/bin/env bash
# A current Docker Engine beside the machine's own: Debian sid's docker.io
# (28.x) with the containerd image store, run from a debootstrapped sid root
# so its binaries get sid's libraries, on its own socket, data, exec root,
# containerd and bridge. `make integration-docker-sid` runs the suite
# against it. The machine's daemon is never touched.
#
#   scripts/docker-sid.sh start    # debootstrap and install once, start (idempotent)
#   scripts/docker-sid.sh stop     # stop it; nothing stays mounted
#   scripts/docker-sid.sh status
#
# The daemon runs in a mount namespace of its own (unshare) whose root is
# the sid root (pivot_root): /proc, /sys, /dev and the host directories
# tests bind-mount from (/tmp, /var/tmp, /work, /root, /home) are bound into
# the root there, so they disappear with its last process. Its "bridge" network is the bridge nixcross-sid0
# on 10.213.0.1/24 (containers reach servers tests start on the gateway).
# The daemon makes no iptables rules (the machine's daemon owns Docker's
# chains): this script adds the ones its subnet needs (the mirror, one
# container reaching another). The socket belongs to the host's docker group.
set -euo pipefail

SID_DIR="${SID_DIR:-/var/lib/nixcross-sid}"
ROOT="$SID_DIR/root"
RUN_DIR="${SID_RUN_DIR:-/run/nixcross-sid}"
SOCKET="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
LOG="$SID_DIR/dockerd.log"
BRIDGE="${SID_BRIDGE:-nixcross-sid0}"
BRIDGE_ADDR="${SID_BRIDGE_ADDR:-10.213.0.1/24}"
# Images the suite expects to find (the builder's base, the refused old Nix).
IMAGES="${SID_IMAGES:-debian:trixie-slim debian:bookworm-slim}"
HOST_DIRS="/tmp /var/tmp /work /root /home"

log() { printf 'docker-sid: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "needs root (a mount namespace, a bridge, iptables rules)"; exit 1; }

# host_mirror: the Debian mirror this machine reaches, as provisioning finds it.
. "$(dirname "$0")/mirror.sh"

sid() { DOCKER_HOST="unix://$SOCKET" docker "$@"; }

answers() { [ -S "$SOCKET" ] && sid version >/dev/null 2>&1; }

ensure_root() {
	if [ -x "$ROOT/usr/sbin/dockerd" ]; then
		return
	fi
	command -v debootstrap >/dev/null 2>&1 || { apt-get update -q >/dev/null; apt-get install -y -q debootstrap >/dev/null; }
	local mirror
	mirror=$(host_mirror)
	if [ ! -f "$ROOT/.debootstrapped" ]; then
		rm -rf "$ROOT"
		mkdir -p "$ROOT"
		log "debootstrap sid from $mirror into $ROOT (log: $SID_DIR/debootstrap.log)"
		debootstrap --variant=minbase sid "$ROOT" "$mirror" >"$SID_DIR/debootstrap.log" 2>&1 || {
			tail -20 "$SID_DIR/debootstrap.log" >&2
			exit 1
		}
		touch "$ROOT/.debootstrapped"
	fi
	log "installing sid's docker.io in $ROOT"
	rm -f "$ROOT"/etc/apt/sources.list.d/*.sources
	echo "deb $mirror sid main" >"$ROOT/etc/apt/sources.list"
	# A mirror frozen at a snapshot serves a sid whose Release has expired.
	echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99nixcross-snapshot"
	# Packages must not start services in the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends docker.io tini' \
		>"$SID_DIR/apt.log" 2>&1 || {
		tail -20 "$SID_DIR/apt.log" >&2
		exit 1
	}
	rm -rf "$ROOT"/var/cache/apt/archives/*.deb
}

# The socket's group is the host's docker group, by number: the sid root
# has a docker group of its own, with another GID.
socket_group() {
	getent group docker | cut -d: -f3 || echo 0
}

write_config() {
	mkdir -p "$ROOT/etc/docker"
	cat >"$ROOT/etc/docker/daemon.json" <<EOF
{
  "features": {"containerd-snapshotter": true},
  "hosts": ["unix://$SOCKET"],
  "group": "$(socket_group)",
  "pidfile": "$PIDFILE",
  "data-root": "/var/lib/docker",
  "exec-root": "/run/docker",
  "bridge": "$BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "ip-masq": false,
  "cgroup-parent": "nixcross-sid",
  "userland-proxy": false
}
EOF
}

ensure_bridge() {
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
	fi
	ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_ADDR" || ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
	ip link set "$BRIDGE" up
}

# The builder image's first build runs apt-get in a container: the
# bridge's subnet gets its own forwarding and masquerading rules, marked
# with a comment and removed by stop (the machine's daemon's chains are
# left alone; ip_forward is already on where a daemon runs).
SUBNET="${SID_SUBNET:-10.213.0.0/24}"
nat_rules() {
	# Out, and between containers: with br_netfilter (which the machine's
	# daemon loads) bridged frames pass FORWARD too, whose policy is DROP.
	echo "filter FORWARD -i $BRIDGE -j ACCEPT"
	echo "filter FORWARD -o $BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
	echo "nat POSTROUTING -s $SUBNET ! -o $BRIDGE -j MASQUERADE"
}

ensure_nat() {
	local table chain rule
	while read -r table chain rule; do
		# shellcheck disable=SC2086 # rule is a list of arguments
		iptables -t "$table" -C "$chain" $rule -m comment --comment nixcross-sid 2>/dev/null ||
			iptables -t "$table" -I "$chain" $rule -m comment --comment nixcross-sid
	done < <(nat_rules)
	sysctl -q net.ipv4.ip_forward | grep -q '= 1' || log "net.ipv4.ip_forward is off: containers have no route out"
}

remove_nat() {
	local table chain rule
	while read -r table chain rule; do
		# shellcheck disable=SC2086
		while iptables -t "$table" -D "$chain" $rule -m comment --comment nixcross-sid 2>/dev/null; do :; done
	done < <(nat_rules)
}

start() {
	if answers; then
		log "Docker $(sid version --format '{{.Server.Version}}') answers on $SOCKET"
		ensure_nat
		copy_images
		return
	fi
	mkdir -p "$SID_DIR" "$RUN_DIR"
	ensure_root
	write_config
	ensure_bridge
	ensure_nat
	rm -f "$SOCKET" "$PIDFILE"
	# The root a mount point of its own, for pivot_root below (and
	# containerd and dockerd look up the mount their directories are on).
	local mounts="mount --bind $ROOT $ROOT && mount --rbind /proc $ROOT/proc && mount --rbind /sys $ROOT/sys && mount --rbind /dev $ROOT/dev"
	mounts+=" && mount -t tmpfs -o mode=755 tmpfs $ROOT/run && mkdir -p $ROOT$RUN_DIR && mount --bind $RUN_DIR $ROOT$RUN_DIR"
	local d
	for d in $HOST_DIRS; do
		[ -d "$d" ] || continue
		mounts+=" && mkdir -p $ROOT$d && mount --rbind $d $ROOT$d"
	done
	# pivot_root, not a bare chroot: `docker exec` joins the container's
	# mount namespace at that namespace's root, which under a chroot is the
	# host's file system (measured: an exec ran the host's Nix, not the
	# image's).
	mounts+=" && mkdir -p $ROOT/.oldroot && cd $ROOT && pivot_root . .oldroot"
	log "starting sid's dockerd on $SOCKET (log: $LOG)"
	# setsid: the daemon must not die with this script's process group;
	# slave propagation: mounts tests make on the host reach it, its own
	# (overlays, network namespaces) stay in its namespace.
	setsid nohup unshare --mount --propagation slave -- sh -c "$mounts && exec chroot . sh -c 'umount -l /.oldroot && rmdir /.oldroot && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dockerd'" \
		>"$LOG" 2>&1 </dev/null &
	for _ in $(seq 1 60); do
		answers && break
		sleep 1
	done
	if ! answers; then
		log "sid's dockerd did not answer within 60s; last lines of $LOG:"
		tail -20 "$LOG" >&2
		exit 1
	fi
	readlink "/proc/$(cat "$PIDFILE")/ns/mnt" >"$MNTNS"
	log "Docker $(sid version --format '{{.Server.Version}}') (API $(sid version --format '{{.Server.APIVersion}}')) answers on $SOCKET"
	copy_images
}

# The base images, from the machine's daemon (docker save only reads).
copy_images() {
	local image
	for image in $IMAGES; do
		sid image inspect "$image" >/dev/null 2>&1 && continue
		if ! docker image inspect "$image" >/dev/null 2>&1; then
			log "$image is not in the machine's daemon either (make provision makes it)"
			continue
		fi
		log "copying $image into sid's daemon"
		docker save "$image" | sid load -q >/dev/null
	done
}

stop() {
	local pid=""
	[ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		log "stopping sid's dockerd ($pid)"
		kill -TERM "$pid"
		for _ in $(seq 1 60); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "dockerd $pid did not stop within 60s: killing it"
			kill -KILL "$pid"
		fi
	fi
	# containerd and shims dockerd started leave with it; any left (a
	# killed dockerd) are found by their mount namespace, never by name.
	local p
	for p in $(pids_in_root); do
		log "stopping leftover $(tr '\0' ' ' </proc/"$p"/cmdline | cut -c1-60) ($p)"
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 1
	for p in $(pids_in_root); do kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$SOCKET" "$PIDFILE" "$MNTNS"
	remove_nat
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE"
	fi
	if grep -q " $ROOT" /proc/self/mountinfo; then
		log "mounts under $ROOT remain on the host:"
		grep " $ROOT" /proc/self/mountinfo >&2
		exit 1
	fi
	log "stopped"
}

# Processes in the daemon's mount namespace (start records it): dockerd,
# its containerd and their shims, wherever they are.
MNTNS="$RUN_DIR/mntns"
pids_in_root() {
	local ns p
	ns=$(cat "$MNTNS" 2>/dev/null) || return 0
	[ -n "$ns" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
	done
	return 0
}

status() {
	if answers; then
		sid version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}}) on '"$SOCKET"
		sid info --format 'storage driver {{.Driver}}, {{.Containers}} containers, {{.Images}} images'
	else
		echo "not running"
		return 1
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
