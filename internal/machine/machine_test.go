package machine

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
	"github.com/nixcross/nixcross/internal/system"
)

// elfHeader is a minimal little-endian ELF file: just the header, no
// sections or segments, which is all classification reads.
func elfHeader(class elf.Class, machine elf.Machine) string {
	return elfHeaderOrder(class, machine, elf.ELFDATA2LSB)
}

func elfHeaderOrder(class elf.Class, machine elf.Machine, data elf.Data) string {
	var b bytes.Buffer
	var le binary.ByteOrder = binary.LittleEndian
	if data == elf.ELFDATA2MSB {
		le = binary.BigEndian
	}
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(class), byte(data), byte(elf.EV_CURRENT)})
	b.Write(make([]byte, 16-7))
	binary.Write(&b, le, uint16(elf.ET_EXEC))
	binary.Write(&b, le, uint16(machine))
	binary.Write(&b, le, uint32(elf.EV_CURRENT))
	if class == elf.ELFCLASS64 {
		binary.Write(&b, le, [3]uint64{}) // entry, phoff, shoff
		binary.Write(&b, le, uint32(0))   // flags
		binary.Write(&b, le, [6]uint16{64, 56, 0, 64, 0, 0})
	} else {
		binary.Write(&b, le, [3]uint32{})
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, [6]uint16{52, 32, 0, 40, 0, 0})
	}
	return b.String()
}

var hostMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "riscv64": elf.EM_RISCV}

func TestScan(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "nix", "store", "x-out")
	storetest.BuildTree(t, out, storetest.Tree{
		"bin/arm*":       elfHeader(elf.ELFCLASS64, elf.EM_AARCH64),
		"bin/rv*":        elfHeader(elf.ELFCLASS64, elf.EM_RISCV),
		"lib/x86.so":     elfHeader(elf.ELFCLASS64, elf.EM_X86_64),
		"lib/arm32.so":   elfHeader(elf.ELFCLASS32, elf.EM_ARM),
		"lib/ppc64.so":   elfHeaderOrder(elf.ELFCLASS64, elf.EM_PPC64, elf.ELFDATA2MSB),
		"share/text":     "#!/bin/sh\n",
		"share/fake.elf": "\x7fELF but nothing else",
		"share/empty":    "",
		"bin/link":       "->arm", // not followed, so not listed twice
		"bin/outside":    "->/bin/sh",
	})
	want := []File{
		{"bin/arm", system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
		{"bin/rv", system.ELF{Machine: elf.EM_RISCV, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
		{"lib/arm32.so", system.ELF{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB}},
		{"lib/ppc64.so", system.ELF{Machine: elf.EM_PPC64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2MSB}},
		{"lib/x86.so", system.ELF{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
	}
	if m, ok := hostMachine[runtime.GOARCH]; ok {
		exe, err := os.ReadFile("/proc/self/exe")
		if err == nil {
			storetest.WriteFile(t, filepath.Join(out, "bin", "host"), string(exe), 0o755)
			want = append(want[:1], append([]File{{"bin/host", system.ELF{Machine: m, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}}}, want[1:]...)...)
		}
	}
	// Called through an out-link, as the CLI does.
	outLink := filepath.Join(root, "result")
	storetest.Symlink(t, "nix/store/x-out", outLink)

	got, err := Scan(outLink)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestScanSingleFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x-tool")
	storetest.WriteFile(t, p, elfHeader(elf.ELFCLASS64, elf.EM_AARCH64), 0o555)
	got, err := Scan(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []File{{"x-tool", system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestScanDoesNotLeaveTheOutput(t *testing.T) {
	root := t.TempDir()
	// The top-level output is itself a symlink out of the output store.
	storetest.Symlink(t, "/usr", filepath.Join(root, "nix", "store", "x-evil"))
	storetest.Symlink(t, "nix/store/x-evil", filepath.Join(root, "result"))
	for _, dir := range []string{filepath.Join(root, "result"), filepath.Join(root, "nix", "store", "x-evil")} {
		got, err := Scan(dir)
		if err != nil || len(got) != 0 {
			t.Errorf("Scan(%s) = %v, %v; want nothing", dir, got, err)
		}
	}
}

func TestScanMissing(t *testing.T) {
	if _, err := Scan(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("no error for a missing output")
	}
}

func TestSummarize(t *testing.T) {
	files := []File{
		{"a", system.ELF{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
		{"b", system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
		{"c", system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}},
		{"d", system.ELF{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB}},
	}
	got := Summarize(files)
	want := []Count{
		{system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}, 2},
		{system.ELF{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB}, 1},
		{system.ELF{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s := fmt.Sprint(got); s != "[aarch64 (2 files) armv7l (1 file) x86_64 (1 file)]" {
		t.Errorf("String: %s", s)
	}
	if len(Summarize(nil)) != 0 {
		t.Error("summary of nothing is not empty")
	}
}

func TestVerify(t *testing.T) {
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	arm := func(p string) File {
		return File{p, system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}}
	}
	x86 := func(p string) File {
		return File{p, system.ELF{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB}}
	}
	var many []File
	for i := range 12 {
		many = append(many, x86(fmt.Sprintf("bin/x%02d", i)))
	}
	tests := []struct {
		name    string
		files   []File
		want    system.System
		wantErr string
	}{
		{"all match", []File{arm("bin/a"), arm("lib/b.so")}, aarch64, ""},
		{"no ELF files", nil, aarch64, ""},
		{"one wrong", []File{arm("bin/a"), x86("lib/b.so")}, aarch64, "verify: 1 of 2 ELF files are not built for aarch64-linux: lib/b.so (x86_64)"},
		{"wrong class", []File{{"bin/a", system.ELF{Machine: elf.EM_AARCH64, Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB}}}, aarch64, "bin/a (aarch64 32-bit)"},
		// Same e_machine and class as powerpc64le: only the byte order differs.
		{"big-endian powerpc64", []File{{"bin/a", system.ELF{Machine: elf.EM_PPC64, Class: elf.ELFCLASS64, Data: elf.ELFDATA2MSB}}}, system.System{Arch: "powerpc64le", OS: "linux"}, "bin/a (powerpc64)"},
		{"big-endian riscv64", []File{{"bin/a", system.ELF{Machine: elf.EM_RISCV, Class: elf.ELFCLASS64, Data: elf.ELFDATA2MSB}}}, system.System{Arch: "riscv64", OS: "linux"}, "bin/a (riscv64 big-endian)"},
		{"many wrong", many, aarch64, "12 of 12 ELF files are not built for aarch64-linux: bin/x00 (x86_64), bin/x01"},
		{"many wrong, list cut", many, aarch64, "bin/x09 (x86_64) and 2 more"},
		{"darwin is not ELF", []File{arm("bin/a")}, system.System{Arch: "aarch64", OS: "darwin"}, "not built for aarch64-darwin"},
		{"unknown system", []File{arm("bin/a")}, system.System{Arch: "m68k", OS: "linux"}, "no ELF machine is known for m68k-linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.files, tt.want)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
