package system

import (
	"debug/elf"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

func TestParseGuideMessages(t *testing.T) {
	_, err := Parse("arm-linux")
	want := "Unsupported system 'arm-linux'\nSupported systems: aarch64-linux x86_64-linux aarch64-darwin x86_64-darwin riscv64-linux armv7l-linux i686-linux powerpc64le-linux s390x-linux"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse(arm-linux) = %v, want %q", err, want)
	}
	if status.ExitCode(err) != status.ExitUsage {
		t.Fatalf("exit code %d, want usage", status.ExitCode(err))
	}
	err = CheckHost(System{"aarch64", "darwin"}, "linux")
	if err == nil || err.Error() != "Cross-compilation between different operating systems (linux -> darwin) is not supported by Nix" {
		t.Fatalf("CheckHost = %v", err)
	}
	if err := CheckHost(System{"riscv64", "linux"}, "linux"); err != nil {
		t.Fatal(err)
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList([]string{"aarch64-linux,riscv64-linux", " x86_64-linux ", "aarch64-linux", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aarch64-linux", "riscv64-linux", "x86_64-linux"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := ParseList([]string{"aarch64-linux,mips-linux"}); err == nil {
		t.Fatal("mips-linux accepted")
	}
}

func TestFromDocker(t *testing.T) {
	cases := map[string]string{"x86_64": "x86_64-linux", "aarch64": "aarch64-linux", "arm64": "aarch64-linux", "riscv64": "riscv64-linux", "armv7l": "armv7l-linux", "s390x": "s390x-linux", "ppc64le": "powerpc64le-linux"}
	for arch, want := range cases {
		s, err := FromDocker("linux", arch)
		if err != nil || s.String() != want {
			t.Errorf("FromDocker(%s) = %v, %v; want %s", arch, s, err, want)
		}
	}
	if _, err := FromDocker("linux", "vax"); err == nil {
		t.Error("vax accepted")
	}
}

func TestNames(t *testing.T) {
	for _, s := range LinuxSystems() {
		if s.QEMU() == "" {
			t.Errorf("%s has no QEMU name", s)
		}
		if goarch, _ := s.GOARCH(); goarch == "" {
			t.Errorf("%s has no GOARCH", s)
		}
		id, ok := s.ELF()
		if !ok || id.Name() != s.Arch {
			t.Errorf("%s: %+v named %q", s, id, id.Name())
		}
	}
	for id, want := range map[ELF]string{
		{elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2MSB}:    "mips",
		{elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB}:   "powerpc64",
		{elf.EM_X86_64, elf.ELFCLASS32, elf.ELFDATA2LSB}:  "x86_64 32-bit",
		{elf.EM_S390, elf.ELFCLASS32, elf.ELFDATA2MSB}:    "s390x 32-bit",
		{elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2MSB}:   "riscv64 big-endian",
		{elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2MSB}: "aarch64_be",
	} {
		if got := id.Name(); got != want {
			t.Errorf("%+v named %q, want %q", id, got, want)
		}
	}
}

func TestCompatibleWith(t *testing.T) {
	x86, arm := System{"x86_64", "linux"}, System{"aarch64", "linux"}
	if !(System{"i686", "linux"}).CompatibleWith(x86) || !(System{"armv7l", "linux"}).CompatibleWith(arm) {
		t.Error("32-bit modes not recognised")
	}
	if (System{"aarch64", "linux"}).CompatibleWith(x86) || (System{"i686", "linux"}).CompatibleWith(arm) {
		t.Error("foreign systems called compatible")
	}
}

func TestPlatform(t *testing.T) {
	want := map[string]string{
		"x86_64-linux":      "linux/amd64",
		"aarch64-linux":     "linux/arm64/v8",
		"riscv64-linux":     "linux/riscv64",
		"armv7l-linux":      "linux/arm/v7",
		"i686-linux":        "linux/386",
		"powerpc64le-linux": "linux/ppc64le",
		"s390x-linux":       "linux/s390x",
	}
	for _, s := range LinuxSystems() {
		p, ok := s.Platform()
		if !ok || p.String() != want[s.String()] {
			t.Errorf("%s: platform %q (ok %v), want %q", s, p, ok, want[s.String()])
		}
		delete(want, s.String())
	}
	if len(want) > 0 {
		t.Errorf("systems missing from LinuxSystems: %v", want)
	}
	for _, s := range []System{{"aarch64", "darwin"}, {"x86_64", "darwin"}, {"mips", "linux"}} {
		if p, ok := s.Platform(); ok {
			t.Errorf("%s: platform %q, want none", s, p)
		}
	}
}
