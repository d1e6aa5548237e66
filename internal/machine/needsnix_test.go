package machine

import (
	"debug/elf"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nixcross/nixcross/internal/fixture"
)

func TestScanNeedsNix(t *testing.T) {
	dir := t.TempDir()
	const loader = "/nix/store/c10zhkbp6jmyh0xc5kd123ga8yy2p4hk-glibc-2.40-66/lib/ld-linux-x86-64.so.2"
	x86 := elf.FileHeader{Class: elf.ELFCLASS64, Data: elf.ELFDATA2LSB, Machine: elf.EM_X86_64}
	arm := elf.FileHeader{Class: elf.ELFCLASS32, Data: elf.ELFDATA2LSB, Machine: elf.EM_ARM}
	files := map[string][]byte{
		"bin/dynamic":     fixture.DynamicELF(x86, loader),
		"bin/dynamic-arm": fixture.DynamicELF(arm, "/nix/store/x-glibc/lib/ld-linux-armhf.so.3"),
		"bin/debian":      fixture.DynamicELF(x86, "/lib64/ld-linux-x86-64.so.2"),
		"bin/script":      []byte("#!/nix/store/y-bash-5.2/bin/bash -e\necho hi\n"),
		"bin/portable":    []byte("#!/bin/sh\necho hi\n"),
		"share/doc":       []byte("run it as #!/nix/store/y-bash-5.2/bin/bash\n"),
		"share/empty":     nil,
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A static program: an ELF without program headers (e_phnum 0).
	static := fixture.DynamicELF(x86, "")
	static[56], static[57] = 0, 0
	os.WriteFile(filepath.Join(dir, "bin", "static"), static, 0o755)
	got, err := ScanNeedsNix(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []NeedsNix{
		{Path: "bin/dynamic", How: "interpreter", Needs: loader},
		{Path: "bin/dynamic-arm", How: "interpreter", Needs: "/nix/store/x-glibc/lib/ld-linux-armhf.so.3"},
		{Path: "bin/script", How: "script", Needs: "/nix/store/y-bash-5.2/bin/bash"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanNeedsNix =\n%+v\nwant\n%+v", got, want)
	}
}
