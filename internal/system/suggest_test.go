package system

import (
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestSuggest: the names users bring from Docker, Go and uname, and typos,
// point at the Nix system; nothing close suggests nothing.
func TestSuggest(t *testing.T) {
	for name, want := range map[string]string{
		"arm64": "aarch64-linux", "aarch64": "aarch64-linux", "linux/arm64": "aarch64-linux", "linux/arm64/v8": "aarch64-linux",
		"amd64": "x86_64-linux", "x86_64": "x86_64-linux", "linux/amd64": "x86_64-linux", "AMD64": "x86_64-linux",
		"linux/arm/v7": "armv7l-linux", "armhf": "armv7l-linux", "386": "i686-linux", "i386": "i686-linux",
		"ppc64le": "powerpc64le-linux", "linux/riscv64": "riscv64-linux", "s390x": "s390x-linux",
		"aarch64-linx": "aarch64-linux", "x86-64-linux": "x86_64-linux", "riscv64-linux ": "riscv64-linux",
	} {
		s, ok := Suggest(name)
		if !ok || s.String() != want {
			t.Errorf("Suggest(%q) = %v %v, want %s", name, s, ok, want)
		}
	}
	for _, name := range []string{"mips", "windows", "sparc64-solaris"} {
		if s, ok := Suggest(name); ok {
			t.Errorf("Suggest(%q) = %v, want nothing", name, s)
		}
	}
	_, err := Parse("arm64")
	if status.ExitCode(err) != status.ExitUsage || status.HintOf(err) != "did you mean aarch64-linux?" {
		t.Errorf("Parse(arm64): %v, hint %q", err, status.HintOf(err))
	}
}
