package binfmt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

func TestHandlerForEveryLinuxSystem(t *testing.T) {
	for _, s := range system.LinuxSystems() {
		h, ok := HandlerFor(s)
		if !ok {
			t.Fatalf("no handler for %s", s)
		}
		name, interp := "nixcross-"+s.QEMU(), "/usr/bin/qemu-"+s.QEMU()+"-static"
		if h.Model != "" {
			name, interp = name+"-cpu", "/usr/libexec/nixcross/qemu-"+s.QEMU()+"-cpu"
		}
		if h.Name != name {
			t.Errorf("%s: name %q, want %q", s, h.Name, name)
		}
		if h.Interpreter != interp {
			t.Errorf("%s: interpreter %q, want %q", s, h.Interpreter, interp)
		}
		if h.Model != DefaultModel(s) {
			t.Errorf("%s: model %q, DefaultModel %q", s, h.Model, DefaultModel(s))
		}
		if len(h.Magic) != 20 || len(h.Mask) != 20 {
			t.Errorf("%s: magic %d bytes, mask %d bytes, want 20 each", s, len(h.Magic), len(h.Mask))
		}
		if !bytes.HasPrefix(h.Magic, []byte("\x7fELF")) {
			t.Errorf("%s: magic %x does not start with the ELF magic", s, h.Magic)
		}
	}
	for _, s := range []system.System{{Arch: "aarch64", OS: "darwin"}, {Arch: "mips", OS: "linux"}} {
		if _, ok := HandlerFor(s); ok {
			t.Errorf("HandlerFor(%s) = ok, want none", s)
		}
	}
}

// The models measured fastest (README's "QEMU CPU models"), each no weaker
// than what nixpkgs assumes of the system; the rest run QEMU's default.
func TestModels(t *testing.T) {
	want := map[string]string{
		"aarch64-linux": "cortex-a72",
		"riscv64-linux": "rv64,v=false",
		"armv7l-linux":  "", "i686-linux": "", "powerpc64le-linux": "", "s390x-linux": "", "x86_64-linux": "",
	}
	for _, s := range system.LinuxSystems() {
		m, ok := want[s.String()]
		if !ok {
			t.Errorf("%s: no expectation", s)
		}
		if got := DefaultModel(s); got != m {
			t.Errorf("DefaultModel(%s) = %q, want %q", s, got, m)
		}
		path, tuned := OverridePath(s)
		if tuned != (m != "") || tuned && path != "/etc/nixcross/qemu-"+s.QEMU()+".cpu" {
			t.Errorf("OverridePath(%s) = %q, %v", s, path, tuned)
		}
	}
	if m := DefaultModel(system.System{Arch: "aarch64", OS: "darwin"}); m != "" {
		t.Errorf("aarch64-darwin: %q", m)
	}
}

// The register line is parsed back the way the kernel does: split on ':'
// and decode the \x escapes of magic and mask.
func TestRegisterLine(t *testing.T) {
	for _, s := range system.LinuxSystems() {
		h, _ := HandlerFor(s)
		line := h.RegisterLine()
		f := strings.Split(line, ":")
		if len(f) != 8 || f[0] != "" {
			t.Fatalf("%s: %q does not have the 7 fields of :name:type:offset:magic:mask:interpreter:flags", s, line)
		}
		if f[1] != h.Name || f[2] != "M" || f[3] != "" || f[6] != h.Interpreter || f[7] != "F" {
			t.Errorf("%s: fields %q", s, f)
		}
		if got := decodeKernelEscapes(t, f[4]); !bytes.Equal(got, h.Magic) {
			t.Errorf("%s: magic field decodes to %x, want %x", s, got, h.Magic)
		}
		if got := decodeKernelEscapes(t, f[5]); !bytes.Equal(got, h.Mask) {
			t.Errorf("%s: mask field decodes to %x, want %x", s, got, h.Mask)
		}
		if len(line) > 1920 {
			t.Errorf("%s: line is %d bytes, over the kernel's limit", s, len(line))
		}
	}
}

func decodeKernelEscapes(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		if !strings.HasPrefix(s, `\x`) || len(s) < 4 {
			t.Fatalf("not a \\xHH sequence: %q", s)
		}
		b, err := strconv.ParseUint(s[2:4], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, byte(b))
		s = s[4:]
	}
	return out
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name   string
		offset int
		magic  []byte
		mask   []byte
		header []byte
		want   bool
	}{
		{"exact", 0, []byte{1, 2}, nil, []byte{1, 2, 3}, true},
		{"differs", 0, []byte{1, 2}, nil, []byte{1, 3, 3}, false},
		{"masked bit ignored", 0, []byte{0x02}, []byte{0xfe}, []byte{0x03}, true},
		{"masked bit ignored on magic side", 0, []byte{0x03}, []byte{0xfe}, []byte{0x02}, true},
		{"unmasked bit counts", 0, []byte{0x02}, []byte{0xff}, []byte{0x03}, false},
		{"offset", 2, []byte{9}, nil, []byte{0, 0, 9}, true},
		{"header too short", 2, []byte{9, 9}, nil, []byte{0, 0, 9}, false},
		{"no magic", 0, nil, nil, []byte{1}, false},
	}
	for _, tt := range tests {
		if got := matches(tt.offset, tt.magic, tt.mask, tt.header); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Each handler must claim its own system's binaries and no other
// system's: the header of a real Go binary built for every system (kept in
// testdata/elfheader, see gen_elfheaders.go), and nixcross's probes.
func TestHandlersMatchOnlyTheirOwnSystem(t *testing.T) {
	headers := map[string]map[system.System][]byte{
		"go binary": goBinaryHeaders(t),
		"probe":     {},
	}
	for _, s := range system.LinuxSystems() {
		p, err := Probe(s)
		if err != nil {
			t.Fatal(err)
		}
		headers["probe"][s] = p
	}
	for kind, bySystem := range headers {
		for _, hs := range system.LinuxSystems() {
			h, _ := HandlerFor(hs)
			for bs, header := range bySystem {
				if got, want := h.Matches(header), hs == bs; got != want {
					t.Errorf("handler %s on a %s %s: matches = %v, want %v", h.Name, bs, kind, got, want)
				}
			}
		}
	}
}

//go:generate go run gen_elfheaders.go

// goBinaryHeaders reads the ELF headers of an empty Go program built for
// every Linux system, and checks each is the header of that system's
// executables, so a wrong or stale file cannot pass the test above.
func goBinaryHeaders(t *testing.T) map[system.System][]byte {
	t.Helper()
	out := map[system.System][]byte{}
	for _, s := range system.LinuxSystems() {
		header, err := os.ReadFile(filepath.Join("testdata", "elfheader", s.Arch))
		if err != nil {
			t.Fatalf("%v (run go generate ./internal/binfmt)", err)
		}
		if len(header) != 64 || !bytes.HasPrefix(header, []byte(elf.ELFMAG)) {
			t.Fatalf("%s: testdata header is not a 64-byte ELF header", s)
		}
		// debug/elf wants the whole file; the identity is read by hand.
		var order binary.ByteOrder = binary.LittleEndian
		if elf.Data(header[elf.EI_DATA]) == elf.ELFDATA2MSB {
			order = binary.BigEndian
		}
		got := system.ELF{Machine: elf.Machine(order.Uint16(header[18:])), Class: elf.Class(header[elf.EI_CLASS]), Data: elf.Data(header[elf.EI_DATA])}
		typ := elf.Type(order.Uint16(header[16:]))
		if id, _ := s.ELF(); got != id || typ != elf.ET_EXEC {
			t.Fatalf("%s: testdata header is %+v %v, want %+v ET_EXEC", s, got, typ, id)
		}
		out[s] = header
	}
	return out
}
