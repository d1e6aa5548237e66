# The nixcross builder image: Debian trixie's Nix (2.26; nixpkgs needs at
# least 2.18 to evaluate), static QEMU 10 for emulated builds (and for binfmt
# registration from a helper container), git for flakes, and an ssh client
# for Nix remote builders (--builders).
# nixcross embeds this file and builds it on first use, tagged by a hash of
# its content; edit it and the next run builds (and caches into) a new image.
ARG BASE_IMAGE=debian:trixie-slim

# The QEMU CPU model wrapper (issue 26): a small static program registered as
# the binfmt_misc interpreter of the systems whose QEMU default model is not
# the fastest (internal/binfmt's models table; a unit test keeps it in step
# with the packing below). binfmt_misc passes QEMU no arguments and Nix clears
# each builder's environment, so QEMU_CPU cannot choose the model; the
# wrapper starts QEMU with -cpu MODEL. It carries QEMU's bytes after its own
# (with the F flag the kernel opens it once, so it runs in every mount
# namespace: sandboxed builds, anyone's container) and execs the image's QEMU
# by path where that is the same file (size and mtime), else a memfd copy of
# what it carries. /etc/nixcross/qemu-<arch>.cpu (--qemu-cpu) or QEMU_CPU in
# the environment overrides the model. The source is here, not a file beside
# this one, because nixcross sends only this file to the daemon.
FROM ${BASE_IMAGE} AS qemu-cpu
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev \
 && printf '%s\n' \
      '#define _GNU_SOURCE' \
      '#include <fcntl.h>' \
      '#include <stdio.h>' \
      '#include <stdlib.h>' \
      '#include <string.h>' \
      '#include <sys/mman.h>' \
      '#include <sys/sendfile.h>' \
      '#include <sys/stat.h>' \
      '#include <unistd.h>' \
      '#define TRAILER 512' \
      '#define MAGIC "nixcross-qemu-cpu 1 "' \
      'static int fail(const char *what) { fprintf(stderr, "nixcross-qemu-cpu: "); perror(what); return 126; }' \
      'static int copy(int to, int from, off_t off, off_t n) {' \
      '  while (n > 0) { ssize_t w = sendfile(to, from, &off, n); if (w <= 0) return -1; n -= w; }' \
      '  return 0;' \
      '}' \
      'static int pack(char **argv, int self, off_t selfsize) {' \
      '  char t[TRAILER] = {0};' \
      '  struct stat qs;' \
      '  int q = open(argv[1], O_RDONLY), o = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0755);' \
      '  if (argv[1][0] != 47 || q < 0 || o < 0 || fstat(q, &qs) < 0) return fail("pack");' \
      '  off_t off = (selfsize + 4095) / 4096 * 4096;' \
      '  snprintf(t, TRAILER, MAGIC "%lld %lld %lld %s %s\n", (long long)off, (long long)qs.st_size, (long long)qs.st_mtime, argv[2], argv[1]);' \
      '  if (copy(o, self, 0, selfsize) < 0 || ftruncate(o, off) < 0 || lseek(o, off, SEEK_SET) < 0 ||' \
      '      copy(o, q, 0, qs.st_size) < 0 || write(o, t, TRAILER) != TRAILER || close(o) < 0) return fail("pack");' \
      '  return 0;' \
      '}' \
      'int main(int argc, char **argv) {' \
      '  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);' \
      '  struct stat st, ps;' \
      '  if (self < 0 || fstat(self, &st) < 0) return fail("/proc/self/exe");' \
      '  char t[TRAILER + 1] = {0}, model[128] = "", path[256] = "", override[300];' \
      '  long long off = 0, size = 0, mtime = 0;' \
      '  if (st.st_size > TRAILER && pread(self, t, TRAILER, st.st_size - TRAILER) == TRAILER && !strncmp(t, MAGIC, strlen(MAGIC)))' \
      '    sscanf(t + strlen(MAGIC), "%lld %lld %lld %127s %255s", &off, &size, &mtime, model, path);' \
      '  if (size == 0) {' \
      '    if (argc == 4) return pack(argv, self, st.st_size);' \
      '    fprintf(stderr, "usage: %s QEMU MODEL OUT\n", argv[0]);' \
      '    return 2;' \
      '  }' \
      '  char *base = strrchr(path, 47) + 1;' \
      '  int len = strlen(base);' \
      '  if (len > 7 && !strcmp(base + len - 7, "-static")) len -= 7;' \
      '  snprintf(override, sizeof override, "/etc/nixcross/%.*s.cpu", len, base);' \
      '  int fd = open(override, O_RDONLY | O_CLOEXEC);' \
      '  if (fd >= 0) {' \
      '    char m[128] = "";' \
      '    ssize_t n = read(fd, m, sizeof m - 1);' \
      '    if (n > 0) { m[n] = 0; m[strcspn(m, " \t\r\n")] = 0; if (*m) strcpy(model, m); }' \
      '    close(fd);' \
      '  }' \
      '  char **args = calloc(argc + 3, sizeof *args), *env = getenv("QEMU_CPU");' \
      '  int n = 0;' \
      '  args[n++] = argv[0];' \
      '  if (!env || !*env) { args[n++] = "-cpu"; args[n++] = model; }' \
      '  for (int i = 1; i < argc; i++) args[n++] = argv[i];' \
      '  if (stat(path, &ps) == 0 && ps.st_size == size && ps.st_mtime == mtime) execv(path, args);' \
      '  int mem = memfd_create("qemu", MFD_CLOEXEC);' \
      '  if (mem < 0 || copy(mem, self, off, size) < 0) return fail("memfd");' \
      '  fexecve(mem, args, environ);' \
      '  return fail("exec qemu");' \
      '}' \
      > /qemu-cpu.c \
 && gcc -static -Os -Wall -Werror -o /qemu-cpu /qemu-cpu.c

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

# Each tuned system's wrapper, packed with this image's QEMU (the model is
# measured: bench/emulation). QEMU 10's defaults are aarch64 "max" (SVE, SME,
# MTE…) and riscv64 "max" (with V): cortex-a72 is armv8-a, rv64 without V is
# rv64gc plus the scalar extensions, no weaker than nixpkgs assumes.
COPY --from=qemu-cpu /qemu-cpu /usr/libexec/nixcross/qemu-cpu
RUN for m in aarch64=cortex-a72 riscv64=rv64,v=false; do \
      a=${m%%=*}; \
      /usr/libexec/nixcross/qemu-cpu "$(readlink -f /usr/bin/qemu-$a-static)" "${m#*=}" /usr/libexec/nixcross/qemu-$a-cpu || exit 1; \
    done

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
