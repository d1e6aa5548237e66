package binfmt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

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
