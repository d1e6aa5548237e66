# The nixcross builder image: Debian's Nix, static QEMU for emulated builds
# (and for binfmt registration from a helper container), git for flakes, and
# an ssh client for Nix remote builders (--builders).
# nixcross embeds this file and builds it on first use, tagged by a hash of
# its content; edit it and the next run builds (and caches into) a new image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nix-bin qemu-user-static git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/*

# Single-user Nix as root: no daemon, no build users, no sandbox (the build
# container is the sandbox and has no privilege to create namespaces).
RUN mkdir -p /etc/nix /nix/store /nix/var/nix \
 && printf '%s\n' \
      'experimental-features = nix-command flakes' \
      'sandbox = false' \
      'build-users-group =' \
      'warn-dirty = false' \
      > /etc/nix/nix.conf \
 && git config --system safe.directory '*'

ENV USER=root HOME=/root
WORKDIR /root
