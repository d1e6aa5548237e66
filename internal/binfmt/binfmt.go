// Package binfmt owns emulation of foreign Linux systems through the
// kernel's binfmt_misc and QEMU: the handler table, the tiny probe programs
// that tell by running whether a system works, the diagnosis of why it does
// not, and the helper containers that register handlers with the least
// privilege and keep them alive for as long as they are needed.
package binfmt

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nixcross/nixcross/internal/system"
)

// NamePrefix starts the name of every binfmt_misc entry nixcross creates, so
// it never mistakes (or removes) an entry somebody else made.
const NamePrefix = "nixcross-"

// Handler is the binfmt_misc entry nixcross registers for one system.
type Handler struct {
	System      system.System
	Name        string // "nixcross-<qemu arch>", "nixcross-<qemu arch>-cpu" when tuned
	Magic, Mask []byte // matched at offset 0 of the executable
	// Interpreter is the builder image's static QEMU, or for a system
	// with a Model its wrapper (Dockerfile.nix), which runs QEMU with -cpu.
	Interpreter string
	// Model is the QEMU CPU model the handler runs, "" for QEMU's default.
	Model string
}

// models are the QEMU CPU models nixcross's handlers run, where one was
// measured faster than QEMU 10's default (bench/emulation, README's
// "QEMU CPU models"). Each is no weaker than what nixpkgs' binaries for the
// system assume, so a build that probes the CPU still makes binaries that
// run on real hardware: aarch64 armv8-a (cortex-a72: armv8.0-a, with
// crypto; QEMU's default "max" has SVE, SME and MTE, which cost), riscv64
// rv64gc (QEMU's rv64 without the vector extension; its default "max" has
// V, which made the work 1.5x slower). armv7l, i686, powerpc64le and s390x
// showed no model faster than the default beyond the noise, so they keep
// it, and plain QEMU as their interpreter. Dockerfile.nix packs a wrapper
// per entry (a test keeps the two in step).
var models = map[string]string{
	"aarch64": "cortex-a72",
	"riscv64": "rv64,v=false",
}

// wrapperDir holds the CPU model wrappers in the builder image.
const wrapperDir = "/usr/libexec/nixcross/"

// The magic and mask of each handler are QEMU's own, from
// scripts/qemu-binfmt-conf.sh in the QEMU source tree (the same values
// Debian ships in /usr/share/binfmts/qemu-*). They match ELF executables
// and shared objects (e_type 2 or 3) of one machine, class and byte order,
// so no handler claims another system's binaries.
var handlers = map[string]struct{ magic, mask string }{
	"x86_64": {
		magic: `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`,
		mask:  `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	},
	"aarch64": {
		magic: `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00`,
		mask:  `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	},
	"riscv64": {
		magic: `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00`,
		mask:  `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	},
	"armv7l": {
		magic: `\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00`,
		mask:  `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	},
	"i686": {
		magic: `\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00`,
		mask:  `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
	},
	"powerpc64le": {
		magic: `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00`,
		mask:  `\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00`,
	},
	"s390x": {
		magic: `\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16`,
		mask:  `\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff`,
	},
}

// HandlerFor returns the handler nixcross registers for s.
func HandlerFor(s system.System) (Handler, bool) {
	h, ok := handlers[s.Arch]
	if !ok || !s.Linux() || s.QEMU() == "" {
		return Handler{}, false
	}
	hd := Handler{
		System:      s,
		Name:        NamePrefix + s.QEMU(),
		Magic:       unescape(h.magic),
		Mask:        unescape(h.mask),
		Interpreter: "/usr/bin/qemu-" + s.QEMU() + "-static",
	}
	if m, ok := models[s.Arch]; ok {
		// A name of its own: an entry of an earlier nixcross (the same
		// name with plain QEMU) must not stand in for it.
		hd.Name += "-cpu"
		hd.Interpreter = wrapperDir + "qemu-" + s.QEMU() + "-cpu"
		hd.Model = m
	}
	return hd, true
}

// DefaultModel is the QEMU CPU model nixcross's handler runs for s, ""
// when it runs QEMU's default.
func DefaultModel(s system.System) string {
	if !s.Linux() {
		return ""
	}
	return models[s.Arch]
}

// SandboxPaths are what Nix's sandbox needs for the wrappers, as
// extra-sandbox-paths, each optional ("?"): the image's QEMU, which a
// wrapper execs by path (else it copies the QEMU it carries into memory for
// every exec), and the files of OverridePath.
func SandboxPaths() []string {
	var paths []string
	for _, arch := range slices.Sorted(maps.Keys(models)) {
		s := system.System{Arch: arch, OS: "linux"}
		o, _ := OverridePath(s)
		paths = append(paths, "/usr/bin/qemu-"+s.QEMU()+"?", o+"?")
	}
	return paths
}

// OverridePath is where the wrapper of s's handler reads a model that
// replaces its own (--qemu-cpu), in the mount namespace of the process it
// runs: a build container, and Nix's sandbox through extra-sandbox-paths.
// Only a tuned system's wrapper reads one.
func OverridePath(s system.System) (string, bool) {
	if _, ok := models[s.Arch]; !ok || !s.Linux() {
		return "", false
	}
	return "/etc/nixcross/qemu-" + s.QEMU() + ".cpu", true
}

// RegisterLine is what to write to /proc/sys/fs/binfmt_misc/register.
// Magic and mask are written as \xHH escapes, which the kernel decodes
// itself; that keeps bytes such as ':' and '\n' out of the field syntax.
//
// The F flag makes the kernel open the interpreter at registration time,
// in the helper container, so containers without QEMU in them (the
// build's, a user's image) can run foreign binaries too.
func (h Handler) RegisterLine() string {
	return fmt.Sprintf(":%s:M::%s:%s:%s:F", h.Name, escape(h.Magic), escape(h.Mask), h.Interpreter)
}

// Matches reports whether the kernel would hand an executable starting
// with header to this handler.
func (h Handler) Matches(header []byte) bool {
	return matches(0, h.Magic, h.Mask, header)
}

// matches applies binfmt_misc's rule: every magic byte equals the header
// byte at offset+i once both are masked (no mask means all bits count).
func matches(offset int, magic, mask, header []byte) bool {
	if len(magic) == 0 || offset < 0 || len(header) < offset+len(magic) {
		return false
	}
	for i, m := range magic {
		k := byte(0xff)
		if i < len(mask) {
			k = mask[i]
		}
		if header[offset+i]&k != m&k {
			return false
		}
	}
	return true
}

func escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, `\x%02x`, c)
	}
	return sb.String()
}

// unescape decodes the table's \xHH strings; the table is static, so a
// malformed entry is a programming error caught by the tests.
func unescape(s string) []byte {
	var out bytes.Buffer
	for len(s) > 0 {
		if strings.HasPrefix(s, `\x`) && len(s) >= 4 {
			c, _ := strconv.ParseUint(s[2:4], 16, 8)
			out.WriteByte(byte(c))
			s = s[4:]
			continue
		}
		out.WriteByte(s[0])
		s = s[1:]
	}
	return out.Bytes()
}
