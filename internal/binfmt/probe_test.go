package binfmt

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

func TestProbeIsAValidELFExecutable(t *testing.T) {
	for _, s := range system.LinuxSystems() {
		p, err := Probe(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		f, err := elf.NewFile(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("%s: debug/elf cannot parse the probe: %v", s, err)
		}
		id, _ := s.ELF()
		if got := (system.ELF{Machine: f.Machine, Class: f.Class, Data: f.Data}); got != id {
			t.Errorf("%s: probe is %+v, want %+v", s, got, id)
		}
		wantOrder := binary.ByteOrder(binary.LittleEndian)
		if s.Arch == "s390x" {
			wantOrder = binary.BigEndian
		}
		if f.ByteOrder != wantOrder {
			t.Errorf("%s: byte order %v, want %v", s, f.ByteOrder, wantOrder)
		}
		if f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE {
			t.Errorf("%s: type %v OS ABI %v, want a static SysV executable", s, f.Type, f.OSABI)
		}
		if len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD {
			t.Fatalf("%s: want exactly one PT_LOAD, got %v", s, f.Progs)
		}
		seg := f.Progs[0]
		if seg.Off != 0 || seg.Filesz != uint64(len(p)) || seg.Memsz != seg.Filesz {
			t.Errorf("%s: segment off %d filesz %d memsz %d, want the whole %d-byte file", s, seg.Off, seg.Filesz, seg.Memsz, len(p))
		}
		if seg.Flags != elf.PF_R|elf.PF_X {
			t.Errorf("%s: segment flags %v, want R+X", s, seg.Flags)
		}
		if seg.Vaddr%seg.Align != seg.Off%seg.Align {
			t.Errorf("%s: vaddr %#x and offset %#x disagree modulo alignment %#x", s, seg.Vaddr, seg.Off, seg.Align)
		}
		if f.Entry < seg.Vaddr || f.Entry >= seg.Vaddr+seg.Filesz {
			t.Errorf("%s: entry %#x outside the segment [%#x, %#x)", s, f.Entry, seg.Vaddr, seg.Vaddr+seg.Filesz)
		}
		if f.Entry%4 != 0 {
			t.Errorf("%s: entry %#x is not 4-byte aligned", s, f.Entry)
		}
		wantFlags := map[string]uint32{"powerpc64le": 2, "armv7l": 0x05000000}[s.Arch]
		if got := elfFlags(p, f); got != wantFlags {
			t.Errorf("%s: e_flags %#x, want %#x", s, got, wantFlags)
		}
		if !bytes.Contains(p, []byte(probeMessage)) {
			t.Errorf("%s: probe does not carry its message", s)
		}
	}
	if _, err := Probe(system.System{Arch: "aarch64", OS: "darwin"}); err == nil {
		t.Error("Probe(aarch64-darwin) succeeded, want an error")
	}
}

// elfFlags reads e_flags, which debug/elf does not expose.
func elfFlags(p []byte, f *elf.File) uint32 {
	if f.Class == elf.ELFCLASS64 {
		return f.ByteOrder.Uint32(p[48:])
	}
	return f.ByteOrder.Uint32(p[36:])
}

// The probe for the machine the tests run on runs natively: it prints the
// message and exits 0.
func TestProbeRunsNatively(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("probes are Linux executables")
	}
	var host system.System
	for _, s := range system.LinuxSystems() {
		if goarch, _ := s.GOARCH(); goarch == runtime.GOARCH {
			host = s
		}
	}
	if host.IsZero() {
		t.Skipf("no probe for GOARCH %s", runtime.GOARCH)
	}
	p, err := Probe(host)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), host.Arch)
	if err := os.WriteFile(path, p, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s probe: %v (stderr %q)", host, err, stderr.String())
	}
	if stdout.String() != probeMessage {
		t.Errorf("%s probe printed %q, want %q", host, stdout.String(), probeMessage)
	}
}

// testImage is the builder image the Docker tests run helpers and probes
// from (sh and Debian's qemu-user-static): the one nixcross builds from
// the embedded Dockerfile.nix, unless NIXCROSS_TEST_IMAGE names another.
func testImage() string {
	if img := os.Getenv("NIXCROSS_TEST_IMAGE"); img != "" {
		return img
	}
	return engine.BuilderTag(nixcross.Dockerfile, "debian:bookworm-slim")
}

// dockerOrSkip connects to the default daemon and checks the test image is
// there, skipping the test otherwise.
func dockerOrSkip(t *testing.T) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eng, err := engine.Connect(ctx, engine.Selection{})
	if err != nil {
		t.Skip("no Docker daemon:", err)
	}
	t.Cleanup(func() { eng.Close() })
	if _, err := eng.UserImage(ctx, testImage()); err != nil {
		t.Skipf("image %s: %v", testImage(), err)
	}
	return eng
}

// Every probe runs in a plain container once Hold has registered
// handlers: the handler table, the register line, the holder and the
// probes' machine code all work together on a real kernel.
func TestProbesRunUnderEmulation(t *testing.T) {
	eng := dockerOrSkip(t)
	ctx := context.Background()
	restoreEntries(t, eng)
	release, err := Hold(ctx, eng, testImage(), system.LinuxSystems())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := release(ctx); err != nil {
			t.Error(err)
		}
	})
	statuses, err := Detect(ctx, eng, testImage(), system.LinuxSystems())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		if !st.Runnable {
			t.Errorf("%s probe did not run: %+v", st.System, st.Diagnosis)
		}
	}
}

// restoreEntries removes, when the test ends, the nixcross entries that
// appeared during it: on a host whose binfmt_misc stays mounted (by the
// host, or by another container) they would outlive the test. Entries a
// running build's holder keeps are left to it, as Uninstall does.
func restoreEntries(t *testing.T, eng *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	before, err := Entries(ctx, eng, testImage())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		after, err := Entries(ctx, eng, testImage())
		if err != nil {
			t.Error(err)
			return
		}
		held, err := heldSystems(ctx, eng)
		if err != nil {
			t.Error(err)
			return
		}
		_, installed, err := installation(ctx, eng)
		if err != nil {
			t.Error(err)
			return
		}
		var names []string
	next:
		for _, e := range after {
			for _, b := range before {
				if b.Name == e.Name {
					continue next
				}
			}
			for _, s := range system.LinuxSystems() {
				if h, _ := HandlerFor(s); h.Name == e.Name && (held[s] || slices.Contains(installed, s)) {
					continue next
				}
			}
			if e.Ours() {
				names = append(names, e.Name)
			}
		}
		if len(names) == 0 {
			return
		}
		if _, err := runHelper(ctx, eng, testImage(), unregisterScript(names), "unregister"); err != nil {
			t.Errorf("restore binfmt entries: %v", err)
		}
	})
}
