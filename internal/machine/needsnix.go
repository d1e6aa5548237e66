package machine

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NeedsNix is a file of a dereferenced copy that cannot run where there
// is no /nix/store: a program whose loader or libraries are found there,
// or a script whose interpreter is.
type NeedsNix struct {
	Path string `json:"path"` // relative to the copy, slash-separated
	// How says what names the store: "interpreter" (ELF PT_INTERP),
	// "runpath" (ELF DT_RUNPATH or DT_RPATH) or "script" (#!).
	How string `json:"how"`
	// Needs is the store path's file it names, as written in the file.
	Needs string `json:"needs"`
}

const storeDir = "/nix/store/"

// ScanNeedsNix lists the files under dir (a -deref copy, or the link to
// it) that still need /nix/store to run. A static program and a script
// run by /bin/sh are not listed: they run anywhere with the right CPU.
func ScanNeedsNix(dir string) ([]NeedsNix, error) {
	root, err := resolveOutLink(dir)
	if err != nil || root == "" {
		return nil, err
	}
	var found []NeedsNix
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		how, needs, err := needsNix(p)
		if err != nil || how == "" {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		found = append(found, NeedsNix{Path: filepath.ToSlash(rel), How: how, Needs: needs})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s for programs that need /nix: %w", dir, err)
	}
	return found, nil
}

// needsNix says how the file at p needs the store, "" when it does not.
func needsNix(p string) (how, needs string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	head := make([]byte, 256)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", "", err
	}
	head = head[:n]
	switch {
	case strings.HasPrefix(string(head), "#!"):
		line, _, _ := strings.Cut(string(head[2:]), "\n")
		if prog, _, _ := strings.Cut(strings.TrimSpace(line), " "); strings.HasPrefix(prog, storeDir) {
			return "script", prog, nil
		}
		return "", "", nil
	case strings.HasPrefix(string(head), elf.ELFMAG):
		how, needs := elfNeedsNix(f)
		return how, needs, nil
	}
	return "", "", nil
}

// elfNeedsNix reads the interpreter and the library search path of an
// ELF file; a file debug/elf cannot parse is not a program to warn about.
func elfNeedsNix(r io.ReaderAt) (how, needs string) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", ""
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(bufio.NewReader(io.LimitReader(p.Open(), 4096)))
		if interp := strings.TrimRight(string(b), "\x00"); err == nil && strings.HasPrefix(interp, storeDir) {
			return "interpreter", interp
		}
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		paths, _ := ef.DynString(tag)
		for _, list := range paths {
			for _, dir := range strings.Split(list, ":") {
				if strings.HasPrefix(dir, storeDir) {
					return "runpath", dir
				}
			}
		}
	}
	return "", ""
}
