//go:build integration

package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/fixture"
)

// TestBuildAllTargets: a release of every target (cross-compiled, hence
// behind the integration tag) gives one archive each with the binary in the
// target's format, README, completions and man pages; checksums.txt matches
// the archives; the host's binary prints the stamp.
func TestBuildAllTargets(t *testing.T) {
	dist := t.TempDir()
	stamp := Stamp{Version: "v1.2.3-test", Commit: "0123456789abcdef0123456789abcdef01234567", Date: time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)}
	archives, err := Build(context.Background(), Options{Root: fixture.RepoRoot(), Dist: dist, Stamp: stamp, Targets: Targets})
	if err != nil {
		t.Fatal(err)
	}
	if len(archives) != len(Targets) {
		t.Fatalf("%d archives for %d targets", len(archives), len(Targets))
	}

	sums, err := os.ReadFile(filepath.Join(dist, ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("checksums.txt line %q", line)
		}
		listed[name] = sum
	}

	for i, target := range Targets {
		name := ArchiveName(stamp.Version, target)
		if filepath.Base(archives[i]) != name {
			t.Fatalf("archive %s, want %s", archives[i], name)
		}
		data, err := os.ReadFile(archives[i])
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if listed[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: checksums.txt says %q, the file hashes to %x", name, listed[name], sum)
		}
		members := unpack(t, name, data)
		for _, want := range []string{target.Binary(), "README.md", "docs/usage.md", "docs/reference/nixcross_build.md", "completions/nixcross.bash", "completions/_nixcross",
			"completions/nixcross.fish", "completions/nixcross.ps1", "man/man1/nixcross.1", "man/man1/nixcross-build.1"} {
			if _, ok := members[want]; !ok {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		// README's maintainer links go to the repository at the commit.
		if readme := string(members["README.md"].Data); !strings.Contains(readme, "]("+Repository+"/blob/"+stamp.Commit+"/CONTRIBUTING.md)") {
			t.Errorf("%s: README's link to CONTRIBUTING.md does not go to the repository at %s", name, stamp.Commit)
		}
		if err := checkFormat(target, members[target.Binary()].Data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if target.OS == runtime.GOOS && target.Arch == runtime.GOARCH {
			runStamped(t, members[target.Binary()].Data, stamp)
		}
	}
}

// checkFormat: the binary is an executable for target's OS and CPU.
func checkFormat(target Target, bin []byte) error {
	r := bytes.NewReader(bin)
	switch target.OS {
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			return err
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[target.Arch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			return fmt.Errorf("Mach-O %v %v, want %v executable", f.Cpu, f.Type, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			return err
		}
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			return fmt.Errorf("PE machine %#x characteristics %#x, want an amd64 executable", f.Machine, f.Characteristics)
		}
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			return err
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[target.Arch]
		if f.Machine != want || f.Type != elf.ET_EXEC {
			return fmt.Errorf("ELF %v %v, want %v executable", f.Machine, f.Type, want)
		}
		// CGO off: static, no interpreter the user's system might lack.
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return fmt.Errorf("ELF has an interpreter; want a static binary")
			}
		}
	default:
		return fmt.Errorf("no check for %s", target)
	}
	return nil
}

func runStamped(t *testing.T, bin []byte, s Stamp) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nixcross")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	want := "nixcross v1.2.3-test (commit " + s.Commit + ", built 2026-11-28T18:00:00Z)\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(path, args...).Output()
		if err != nil || string(out) != want {
			t.Errorf("nixcross %s: %q %v, want %q", args[0], out, err, want)
		}
	}
}
