//go:build ignore

// gen_elfheaders writes testdata/elfheader/<arch>: the first 64 bytes (the
// ELF header the kernel matches binfmt_misc handlers against) of an empty
// Go program built for each Linux system. The unit tests read these files
// instead of compiling for seven architectures on every run. Regenerate
// with `go generate ./internal/binfmt` when a system is added.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/nixcross/nixcross/internal/system"
)

// headerSize covers a 64-bit ELF header, the longest the kernel compares.
const headerSize = 64

func main() {
	dir, err := os.MkdirTemp("", "elfheaders")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module probe\n\ngo 1.21\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join("testdata", "elfheader"), 0o755); err != nil {
		log.Fatal(err)
	}
	for _, s := range system.LinuxSystems() {
		header, err := build(dir, s)
		if err != nil {
			log.Fatalf("%s: %v", s, err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "elfheader", s.Arch), header, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func build(dir string, s system.System) ([]byte, error) {
	goarch, goarm := s.GOARCH()
	bin := filepath.Join(dir, s.Arch)
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm, "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	header := make([]byte, headerSize)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, err
	}
	return header, nil
}
