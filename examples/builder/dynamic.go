//go:build linux

package main

import (
	"debug/elf"
	"os"
	"path/filepath"

	"github.com/nixcross/nixcross/internal/fixture"
)

// dynamic writes what a typical nixpkgs output holds and a copy without
// /nix cannot run: $out/bin/dynamic, an ELF for the target whose
// interpreter is a store path ($dep/lib/ld-linux.so, as glibc's loader
// is), and $out/bin/script, a script whose #! names a store path. The ELF
// has only its header and the interpreter: --dereference's scan reads
// no more, and the fixture needs no C toolchain.
func dynamic(out, dep string) error {
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	f, err := elf.Open(self)
	if err != nil {
		return err
	}
	f.Close()
	prog := fixture.DynamicELF(f.FileHeader, dep+"/lib/ld-linux.so")
	if err := os.WriteFile(filepath.Join(out, "bin", "dynamic"), prog, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "bin", "script"), []byte("#!"+dep+"/bin/sh\necho hello\n"), 0o755)
}
