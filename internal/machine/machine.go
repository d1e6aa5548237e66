// Package machine owns what the exported binaries are built for: it
// reads the ELF header of every file of an output (Scan), groups them by
// machine for the summary (Summarize) and checks them against the
// requested system for --verify (Verify). It is not called elf because
// it imports debug/elf, and because the question it answers is which
// machine a build is for.
package machine

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nixcross/nixcross/internal/system"
	"github.com/nixcross/nixcross/internal/ui"
)

// File is one ELF file of an exported output and what it was built for.
type File struct {
	Path string // relative to the output, slash-separated
	system.ELF
}

// Scan classifies the ELF files under dir (the top-level output as
// hoststore.Store.Dir names it, or the out-link pointing at it) by machine, so the
// user does not need `file result/bin/...` to see what was built.
// Symlinks are not followed: they are either in the closure and classified
// where they point, or not ours to read. The one exception is dir itself
// when it is an out-link, followed only as far as it stays beside itself:
// a top-level output that is a link to "/" must not make us walk the host.
// Files that are not ELF are skipped.
func Scan(dir string) ([]File, error) {
	root, err := resolveOutLink(dir)
	if err != nil {
		return nil, fmt.Errorf("classify %s: %w", dir, err)
	}
	if root == "" {
		return nil, nil
	}
	var files []File
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		id, ok, err := elfIdentity(p)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = filepath.Base(root)
		}
		files = append(files, File{Path: filepath.ToSlash(rel), ELF: id})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("classify %s: %w", dir, err)
	}
	return files, nil
}

// resolveOutLink returns dir, or where the link dir points if that stays
// inside dir's own directory; "" if it leaves it.
func resolveOutLink(dir string) (string, error) {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return dir, err
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(parent, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", nil
	}
	return resolved, nil
}

// elfIdentity reads the ELF header of p; ok is false for anything that is
// not a well-formed ELF file.
func elfIdentity(p string) (system.ELF, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return system.ELF{}, false, err
	}
	defer f.Close()
	// The magic alone rejects almost every file without elf.NewFile
	// parsing anything.
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return system.ELF{}, false, nil
		}
		return system.ELF{}, false, err
	}
	if string(magic[:]) != elf.ELFMAG {
		return system.ELF{}, false, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return system.ELF{}, false, nil
	}
	return system.ELF{Machine: ef.Machine, Class: ef.Class, Data: ef.Data}, true, nil
}

// Count is how many ELF files were built for one machine.
type Count struct {
	system.ELF
	Files int
}

func (m Count) String() string {
	if m.Files == 1 {
		return m.Name() + " (1 file)"
	}
	return fmt.Sprintf("%s (%d files)", m.Name(), m.Files)
}

// Summarize groups files by machine, word size and byte order, most files
// first.
func Summarize(files []File) []Count {
	counts := map[system.ELF]int{}
	for _, f := range files {
		counts[f.ELF]++
	}
	out := make([]Count, 0, len(counts))
	for id, n := range counts {
		out = append(out, Count{ELF: id, Files: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Files != b.Files {
			return a.Files > b.Files
		}
		if a.Machine != b.Machine {
			return a.Machine < b.Machine
		}
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		return a.Data < b.Data
	})
	return out
}

// verifyListMax keeps a mismatch error to a readable line or two.
const verifyListMax = 10

// Verify fails when any ELF file is not built for want (--verify): its
// machine, word size or byte order differs, or want is not a Linux system
// at all.
func Verify(files []File, want system.System) error {
	id, ok := want.ELF()
	if !ok {
		return fmt.Errorf("verify: no ELF machine is known for %s", want)
	}
	var bad []string
	for _, f := range files {
		if want.Linux() && f.ELF == id {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", ui.Visible(f.Path), f.Name()))
	}
	if len(bad) == 0 {
		return nil
	}
	n, more := len(bad), ""
	if n > verifyListMax {
		more = fmt.Sprintf(" and %d more", n-verifyListMax)
		bad = bad[:verifyListMax]
	}
	return fmt.Errorf("verify: %d of %d ELF files are not built for %s: %s%s",
		n, len(files), want, strings.Join(bad, ", "), more)
}
