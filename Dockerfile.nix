# The nixcross builder image: Debian trixie's Nix (2.26; nixpkgs needs at
# least 2.18 to evaluate), static QEMU 10 for emulated builds (and for binfmt
# registration from a helper container), git for flakes, and an ssh client
# for Nix remote builders (--builders).
# nixcross embeds this file and builds it on first use, tagged by a hash of
# its content; edit it and the next run builds (and caches into) a new image.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}

# QEMU ships some 40 emulators (465 MB); keep the ones for the systems
# nixcross builds (internal/system's table; a unit test keeps the two lists
# in step), and no documentation. Debian's qemu-user-static is, since 9.1, a
# compat package of qemu-<arch>-static links to qemu-user's static binaries,
# which binfmt handlers name; on bookworm it is the binaries themselves.
RUN printf '%s\n' \
      'path-exclude=/usr/share/doc/*' \
      'path-exclude=/usr/share/man/*' \
      'path-exclude=/usr/share/locale/*' \
      'path-exclude=/usr/bin/qemu-*' \
      'path-include=/usr/bin/qemu-x86_64*' \
      'path-include=/usr/bin/qemu-aarch64' \
      'path-include=/usr/bin/qemu-aarch64-static' \
      'path-include=/usr/bin/qemu-riscv64*' \
      'path-include=/usr/bin/qemu-arm' \
      'path-include=/usr/bin/qemu-arm-static' \
      'path-include=/usr/bin/qemu-i386*' \
      'path-include=/usr/bin/qemu-ppc64le*' \
      'path-include=/usr/bin/qemu-s390x*' \
      > /etc/dpkg/dpkg.cfg.d/nixcross-slim \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nix-bin qemu-user-static git ca-certificates openssh-client \
 && find /usr/bin -name 'qemu-*' -xtype l -delete \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# Nix runs as root without a daemon, and runs every builder as one of its
# build users (nixbld1-32, as the official installers make them): a
# derivation is someone else's code, and as root it could read the
# credentials nixcross forwards for fetching (the secrets tmpfs, the ssh
# agent, the Nix processes' environment). No sandbox by default (--sandbox
# turns it on). cache.nixos.org stays the default substituter, with its key
# trusted, so real flakes fetch nixpkgs' binaries instead of building them.
RUN groupadd --system --gid 30000 nixbld \
 && for i in $(seq 1 32); do \
      useradd --system --uid $((30000 + i)) --gid nixbld --groups nixbld \
        --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
        --comment "Nix build user $i" "nixbld$i"; \
    done \
 && mkdir -p /etc/nix /nix/store /nix/var/nix \
 && printf '%s\n' \
      'experimental-features = nix-command flakes' \
      'sandbox = false' \
      'build-users-group = nixbld' \
      'warn-dirty = false' \
      'substituters = https://cache.nixos.org/' \
      'trusted-public-keys = cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=' \
      > /etc/nix/nix.conf \
 && git config --system safe.directory '*'

ENV USER=root HOME=/root
WORKDIR /root
