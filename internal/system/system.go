// Package system owns Nix system names ("aarch64-linux"): which ones
// nixcross supports, how they map to Docker, QEMU, ELF and Go names, and the
// validation messages of the cross-compilation guide.
package system

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
)

// System is a Nix system double such as "aarch64-linux".
type System struct {
	Arch string // Nix CPU name: x86_64, aarch64, riscv64, ...
	OS   string // linux or darwin
}

func (s System) String() string { return s.Arch + "-" + s.OS }

// IsZero reports whether s is unset.
func (s System) IsZero() bool { return s.Arch == "" && s.OS == "" }

// Linux reports whether s can run in a Linux container at all.
func (s System) Linux() bool { return s.OS == "linux" }

// cpu describes one CPU family under every name the tool needs.
type cpu struct {
	nix    string   // Nix's name
	qemu   string   // qemu-<name>-static in Debian's qemu-user-static
	goarch string   // GOARCH for fixtures and probes
	goarm  string   // GOARM, for 32-bit ARM only
	docker []string // names Docker's /info Architecture reports (uname -m)
	elf    ELF      // the header of binaries built for it
}

// Order is the order of "Supported systems:": the guide's four first.
var cpus = []cpu{
	{nix: "x86_64", qemu: "x86_64", goarch: "amd64", docker: []string{"x86_64", "amd64"}, elf: ELF{elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB}},
	{nix: "aarch64", qemu: "aarch64", goarch: "arm64", docker: []string{"aarch64", "arm64"}, elf: ELF{elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB}},
	{nix: "riscv64", qemu: "riscv64", goarch: "riscv64", docker: []string{"riscv64"}, elf: ELF{elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB}},
	{nix: "armv7l", qemu: "arm", goarch: "arm", goarm: "7", docker: []string{"armv7l", "armhf", "arm"}, elf: ELF{elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB}},
	{nix: "i686", qemu: "i386", goarch: "386", docker: []string{"i686", "i386", "386"}, elf: ELF{elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB}},
	{nix: "powerpc64le", qemu: "ppc64le", goarch: "ppc64le", docker: []string{"ppc64le"}, elf: ELF{elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB}},
	{nix: "s390x", qemu: "s390x", goarch: "s390x", docker: []string{"s390x"}, elf: ELF{elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB}},
}

func lookupCPU(nix string) (cpu, bool) {
	for _, c := range cpus {
		if c.nix == nix {
			return c, true
		}
	}
	return cpu{}, false
}

// Linux systems supported, in display order.
func LinuxSystems() []System {
	out := make([]System, 0, len(cpus))
	for _, c := range cpus {
		out = append(out, System{Arch: c.nix, OS: "linux"})
	}
	return out
}

// Supported lists every accepted system: the guide's four first, then the
// other Linux systems QEMU emulates.
func Supported() []System {
	out := []System{
		{"aarch64", "linux"}, {"x86_64", "linux"}, {"aarch64", "darwin"}, {"x86_64", "darwin"},
	}
	for _, s := range LinuxSystems() {
		if s.Arch != "aarch64" && s.Arch != "x86_64" {
			out = append(out, s)
		}
	}
	return out
}

func supportedList() string {
	names := make([]string, 0, len(Supported()))
	for _, s := range Supported() {
		names = append(names, s.String())
	}
	return strings.Join(names, " ")
}

// Parse validates a system name with the guide's message on failure.
func Parse(name string) (System, error) {
	for _, s := range Supported() {
		if s.String() == name {
			return s, nil
		}
	}
	hint := ""
	if s, ok := Suggest(name); ok {
		hint = "did you mean " + s.String() + "?"
	}
	return System{}, status.Usage(fmt.Errorf("Unsupported system '%s'\nSupported systems: %s", name, supportedList()), hint)
}

// ParseList accepts repeated and comma-separated names, dropping duplicates
// but keeping the order given.
func ParseList(values []string) ([]System, error) {
	var out []System
	seen := map[System]bool{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			s, err := Parse(name)
			if err != nil {
				return nil, err
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// CheckHost rejects targets whose OS differs from the build host's: Nix
// cannot cross between operating systems, and Docker hosts run Linux.
func CheckHost(target System, hostOS string) error {
	if target.OS != hostOS {
		return status.Usage(fmt.Errorf("Cross-compilation between different operating systems (%s -> %s) is not supported by Nix", hostOS, target.OS),
			"use a native "+target.OS+" builder for "+target.String())
	}
	return nil
}

// FromDocker maps Docker's reported OS and architecture (uname -m or GOARCH
// style) to a System.
func FromDocker(osType, arch string) (System, error) {
	for _, c := range cpus {
		for _, d := range c.docker {
			if d == arch {
				return System{Arch: c.nix, OS: strings.ToLower(osType)}, nil
			}
		}
	}
	return System{}, fmt.Errorf("docker reports an architecture nixcross does not know: %q", arch)
}

// QEMU returns the qemu-user name for s ("arm" for armv7l), "" when unknown.
func (s System) QEMU() string {
	c, _ := lookupCPU(s.Arch)
	return c.qemu
}

// GOARCH returns Go's GOARCH and GOARM for s, used to build fixtures.
func (s System) GOARCH() (goarch, goarm string) {
	c, _ := lookupCPU(s.Arch)
	return c.goarch, c.goarm
}

// ELF is what an ELF header says about the CPU a binary is for. The byte
// order belongs to it: powerpc64le and big-endian powerpc64 share e_machine
// and class, and only EI_DATA tells their binaries apart.
type ELF struct {
	Machine elf.Machine
	Class   elf.Class
	Data    elf.Data
}

// ELF returns the header binaries built for s carry.
func (s System) ELF() (ELF, bool) {
	c, ok := lookupCPU(s.Arch)
	return c.elf, ok
}

// otherELF names CPUs nixcross does not build for but whose binaries are
// worth telling apart from a supported one's in a --verify message.
var otherELF = map[ELF]string{
	{elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB}:   "powerpc64",
	{elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2MSB}: "aarch64_be",
}

// Name is a short human name for the CPU ("aarch64", "powerpc64"), in
// Nix's spelling where Nix has one. A header matching no known CPU is
// named by its machine, with its word size and byte order where they
// differ from that machine's usual ones ("x86_64 32-bit").
func (e ELF) Name() string {
	for _, c := range cpus {
		if c.elf == e {
			return c.nix
		}
	}
	if n, ok := otherELF[e]; ok {
		return n
	}
	for _, c := range cpus {
		if c.elf.Machine != e.Machine {
			continue
		}
		n := c.nix
		if e.Class != c.elf.Class {
			n += " " + classBits(e.Class)
		}
		if e.Data != c.elf.Data {
			n += " " + dataName(e.Data)
		}
		return n
	}
	return strings.ToLower(strings.TrimPrefix(e.Machine.String(), "EM_"))
}

func classBits(c elf.Class) string {
	switch c {
	case elf.ELFCLASS32:
		return "32-bit"
	case elf.ELFCLASS64:
		return "64-bit"
	}
	return c.String()
}

func dataName(d elf.Data) string {
	switch d {
	case elf.ELFDATA2LSB:
		return "little-endian"
	case elf.ELFDATA2MSB:
		return "big-endian"
	}
	return d.String()
}

// compat lists the 32-bit systems a 64-bit CPU commonly runs itself.
var compat = map[string]string{"x86_64": "i686", "aarch64": "armv7l"}

// CompatibleWith reports whether host's CPU family runs s in a
// compatibility mode of its own (i686 on x86_64, armv7l on aarch64), when
// the kernel allows it: a probe that runs there ran natively.
func (s System) CompatibleWith(host System) bool {
	return s.OS == host.OS && compat[host.Arch] == s.Arch
}
