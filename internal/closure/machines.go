package closure

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
)

// ELFFile is one ELF file of an exported output and what it was built for.
type ELFFile struct {
	Path    string // relative to the output, slash-separated
	Machine elf.Machine
	Class   elf.Class
}

// Machines classifies the ELF files under dir (the top-level output as
// Store.Dir names it, or the out-link pointing at it) by machine, so the
// user does not need `file result/bin/...` to see what was built.
// Symlinks are not followed: they are either in the closure and classified
// where they point, or not ours to read. The one exception is dir itself
// when it is an out-link, followed only as far as it stays beside itself:
// a top-level output that is a link to "/" must not make us walk the host.
// Files that are not ELF are skipped.
func Machines(dir string) ([]ELFFile, error) {
	root, err := resolveOutLink(dir)
	if err != nil {
		return nil, fmt.Errorf("classify %s: %w", dir, err)
	}
	if root == "" {
		return nil, nil
	}
	var files []ELFFile
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		m, c, ok, err := elfMachine(p)
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
		files = append(files, ELFFile{Path: filepath.ToSlash(rel), Machine: m, Class: c})
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

// elfMachine reads the ELF header of p; ok is false for anything that is
// not a well-formed ELF file.
func elfMachine(p string) (elf.Machine, elf.Class, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, 0, false, err
	}
	defer f.Close()
	// The magic alone rejects almost every file without elf.NewFile
	// parsing anything.
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, false, nil
		}
		return 0, 0, false, err
	}
	if string(magic[:]) != elf.ELFMAG {
		return 0, 0, false, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return 0, 0, false, nil
	}
	return ef.Machine, ef.Class, true, nil
}

// MachineCount is how many ELF files were built for one machine.
type MachineCount struct {
	Machine elf.Machine
	Class   elf.Class
	Files   int
}

// Name is the machine's short name ("aarch64").
func (m MachineCount) Name() string { return system.MachineName(m.Machine) }

func (m MachineCount) String() string {
	if m.Files == 1 {
		return m.Name() + " (1 file)"
	}
	return fmt.Sprintf("%s (%d files)", m.Name(), m.Files)
}

// Summarize groups files by machine and class, most files first.
func Summarize(files []ELFFile) []MachineCount {
	type key struct {
		m elf.Machine
		c elf.Class
	}
	counts := map[key]int{}
	for _, f := range files {
		counts[key{f.Machine, f.Class}]++
	}
	out := make([]MachineCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, MachineCount{Machine: k.m, Class: k.c, Files: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Files != out[j].Files {
			return out[i].Files > out[j].Files
		}
		if out[i].Machine != out[j].Machine {
			return out[i].Machine < out[j].Machine
		}
		return out[i].Class < out[j].Class
	})
	return out
}

// verifyListMax keeps a mismatch error to a readable line or two.
const verifyListMax = 10

// Verify fails when any ELF file is not built for want (--verify): its
// machine or class differs, or want is not a Linux system at all.
func Verify(files []ELFFile, want system.System) error {
	m, c, ok := want.ELFMachine()
	if !ok {
		return fmt.Errorf("verify: no ELF machine is known for %s", want)
	}
	var bad []string
	for _, f := range files {
		if want.Linux() && f.Machine == m && f.Class == c {
			continue
		}
		desc := system.MachineName(f.Machine)
		if f.Machine == m && f.Class != c {
			desc += " " + classBits(f.Class)
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", f.Path, desc))
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

func classBits(c elf.Class) string {
	switch c {
	case elf.ELFCLASS32:
		return "32-bit"
	case elf.ELFCLASS64:
		return "64-bit"
	}
	return c.String()
}
