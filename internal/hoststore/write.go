package hoststore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/nix-community/go-nix/pkg/storepath"

	"github.com/nixcross/nixcross/internal/nar"
)

// Writer adds store paths to the store. Each is written under a temporary
// name and takes its final name only from Temp.Publish, which the caller
// calls once it has verified what was written (internal/closure checks
// the NAR hash): that is what makes a published path a verified one.
type Writer struct {
	root *os.Root // nix/store
	top  rootWriter
}

// NewWriter opens the store for adding paths. File contents are copied
// through copyBuf, so that memory does not grow with the number of files.
func (s *Store) NewWriter(copyBuf []byte) (*Writer, error) {
	root, err := os.OpenRoot(s.storeDir())
	if err != nil {
		return nil, err
	}
	return &Writer{root: root, top: rootWriter{r: root, copyBuf: copyBuf, owner: s.Owner}}, nil
}

// Close releases the store's directory.
func (w *Writer) Close() error { return w.root.Close() }

// Temp is one store path being written under a temporary name.
type Temp struct {
	// Name is the temporary name: write the path's root as Name in Parent.
	Name string
	// Parent is the store's nix/store, where Name is created.
	Parent nar.Writer
	root   *os.Root
	base   string
}

// Create starts writing storePath under a fresh temporary name.
func (w *Writer) Create(storePath string) (Temp, error) {
	if _, err := storepath.FromAbsolutePath(storePath); err != nil {
		return Temp{}, err
	}
	base := path.Base(storePath)
	return Temp{Name: tempName(base[:32]), Parent: w.top, root: w.root, base: base}, nil
}

// Open reads back a regular file already written below the path's root
// (rel is slash-separated, like "bin/x").
func (t Temp) Open(rel string) (fs.File, error) { return t.root.Open(t.Name + "/" + rel) }

// Publish renames the path into place. A path already there means a
// concurrent run published the same verified path first, which is
// success.
func (t Temp) Publish() error {
	if err := t.root.Rename(t.Name, t.base); err != nil {
		t.root.RemoveAll(t.Name)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return nil
		}
		return err
	}
	return nil
}

// Discard removes what was written. Should that fail, the next Open of
// the store removes it.
func (t Temp) Discard() { t.root.RemoveAll(t.Name) }

// rootWriter writes a decoded NAR through an os.Root, so that every
// operation names a single entry directly inside a directory this process
// created: no path is ever joined from the stream, no symlink is ever
// followed (files are created O_EXCL, which refuses an existing symlink),
// and an entry cannot be written twice.
type rootWriter struct {
	r       *os.Root
	copyBuf []byte
	owner   *Owner
	// caseHack is set inside a path's directories, where a name can
	// collide with another on a case-insensitive file system.
	caseHack bool
}

// caseHackSuffix is what Nix appends (use-case-hack, on by default on
// macOS) to a name that collides with an earlier one in its directory
// when case (or Unicode normalisation) is ignored, as on default APFS:
// ncurses' terminfo alone has both share/terminfo/N and .../n. The copy
// keeps both entries, the later one renamed, instead of failing.
const (
	caseHackSuffix = "~nix~case~hack~"
	caseHackMax    = 100
)

// NixName is the name Nix gave an entry the host store renamed with the
// case hack (what an image, on Linux's file system, holds again).
func NixName(name string) string {
	if i := strings.LastIndex(name, caseHackSuffix); i >= 0 {
		return name[:i]
	}
	return name
}

// create makes name with mk; where the file system already has an entry
// of that name (a NAR's names are unique and the directory is new, so
// only a case-insensitive match can be there) it makes the first free
// name+caseHackSuffix+N instead. It returns the name made.
func (w rootWriter) create(name string, mk func(name string) error) (string, error) {
	err := mk(name)
	if !w.caseHack || !errors.Is(err, fs.ErrExist) {
		return name, err
	}
	for i := 1; i <= caseHackMax; i++ {
		n := fmt.Sprintf("%s%s%d", name, caseHackSuffix, i)
		if len(n) > nar.NameMax {
			break
		}
		if err = mk(n); !errors.Is(err, fs.ErrExist) {
			return n, err
		}
	}
	return name, err
}

// The store's modes (0444/0555 files, 0755 directories) are set explicitly
// rather than left to the umask: they are what Nix gives every store path,
// and a directory the user cannot write would make `rm -rf` fail.
const (
	fileMode = 0o444
	execMode = 0o555
	dirMode  = 0o755
)

func (w rootWriter) File(name string, executable bool, contents io.Reader) error {
	mode := os.FileMode(fileMode)
	if executable {
		mode = execMode
	}
	var f *os.File
	_, err := w.create(name, func(n string) (err error) {
		f, err = w.r.OpenFile(n, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		return err
	})
	if err != nil {
		return err
	}
	err = w.owner.file(f)
	if src, ok := contents.(*os.File); ok && err == nil {
		// File to file (--dereference): io.Copy uses copy_file_range, a
		// reflink where the file system can.
		_, err = io.Copy(f, src)
	} else if err == nil {
		// writerOnly hides os.File's ReadFrom, whose generic fallback would
		// allocate its own buffer per file instead of reusing copyBuf.
		_, err = io.CopyBuffer(writerOnly{f}, contents, w.copyBuf)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w rootWriter) Symlink(name, target string) error {
	// The target is data, stored byte for byte and never resolved here.
	name, err := w.create(name, func(n string) error { return w.r.Symlink(target, n) })
	if err != nil {
		return err
	}
	return w.owner.entry(w.r, name)
}

func (w rootWriter) Dir(name string) (nar.Writer, func() error, error) {
	return w.subdir(name)
}

// subdir is dir with the concrete writer, for --dereference's copy.
func (w rootWriter) subdir(name string) (rootWriter, func() error, error) {
	name, err := w.create(name, func(n string) error { return w.r.Mkdir(n, dirMode) })
	if err != nil {
		return rootWriter{}, nil, err
	}
	if err := w.owner.entry(w.r, name); err != nil {
		return rootWriter{}, nil, err
	}
	sub, err := w.r.OpenRoot(name)
	if err != nil {
		return rootWriter{}, nil, err
	}
	done := func() error {
		err := sub.Chmod(".", dirMode)
		if cerr := sub.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return rootWriter{r: sub, copyBuf: w.copyBuf, owner: w.owner, caseHack: true}, done, nil
}

type writerOnly struct{ io.Writer }
