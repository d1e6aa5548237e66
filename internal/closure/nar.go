package closure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// The NAR decoder is our own rather than go-nix's nar.Reader, because the
// stream comes from a container we do not trust and nar.Reader (checked
// against go-nix v0.0.0-20250101154619) accepts entry names "", "." and
// "..", which it path.Joins away so a caller cannot see them; accepts
// duplicate names; stops a directory early at an entry named ")" (a legal
// file name, silently dropping the entries after it); and, when a caller
// stops early, leaves its parser goroutine reading the shared stream. This
// one is synchronous and strict: it accepts exactly the canonical NARs Nix
// writes, which is also all the hash check needs.

const (
	narMagic = "nix-archive-1"
	// nameMax is NAME_MAX: a longer entry could not be created anyway.
	nameMax = 255
	// pathMax is PATH_MAX less the NUL. It bounds the depth of the tree,
	// hence the recursion and the directory descriptors held open.
	pathMax = 4095
	// tokenMax fits every keyword of the format ("executable", "directory").
	tokenMax = 16
)

var errNarSyntax = errors.New("malformed NAR")

// narWriter receives the decoded tree. Every name it is given has been
// checked by validName and is unique within its directory.
type narWriter interface {
	file(name string, executable bool, contents io.Reader) error
	symlink(name, target string) error
	// dir creates a directory and returns the writer for its entries;
	// done is called after the last entry, also on failure.
	dir(name string) (sub narWriter, done func() error, err error)
}

// narDecoder reads one NAR from r. r must end exactly where the NAR ends
// (Export gives it an io.LimitReader of narSize) so that a NAR claiming
// more than its declared size fails instead of eating the next path.
type narDecoder struct {
	r       io.Reader
	remain  func() int64 // bytes left in r; a declared size beyond it is rejected up front
	scratch [nameMax + 8]byte
	pathLen int
	check   func() error // polled between entries, for cancellation
}

// decode reads a whole NAR and writes its root as name in w.
func (d *narDecoder) decode(w narWriter, name string) error {
	if err := d.expect(narMagic); err != nil {
		return err
	}
	return d.node(w, name)
}

func (d *narDecoder) node(w narWriter, name string) error {
	if d.check != nil {
		if err := d.check(); err != nil {
			return err
		}
	}
	if err := d.expect("("); err != nil {
		return err
	}
	if err := d.expect("type"); err != nil {
		return err
	}
	typ, err := d.readString(tokenMax)
	if err != nil {
		return err
	}
	switch typ {
	case "regular":
		tok, err := d.readString(tokenMax)
		if err != nil {
			return err
		}
		executable := tok == "executable"
		if executable {
			if err := d.expect(""); err != nil {
				return err
			}
			if tok, err = d.readString(tokenMax); err != nil {
				return err
			}
		}
		if tok != "contents" {
			return fmt.Errorf("%w: expected contents, got %q", errNarSyntax, tok)
		}
		size, err := d.readUint64()
		if err != nil {
			return err
		}
		if size > uint64(d.remain()) {
			return fmt.Errorf("%w: file of %d bytes does not fit in the rest of the NAR", errNarSyntax, size)
		}
		contents := &io.LimitedReader{R: d.r, N: int64(size)}
		if err := w.file(name, executable, contents); err != nil {
			return err
		}
		if contents.N != 0 {
			return fmt.Errorf("%w: file contents cut short", io.ErrUnexpectedEOF)
		}
		if err := d.padding(size); err != nil {
			return err
		}
	case "symlink":
		if err := d.expect("target"); err != nil {
			return err
		}
		target, err := d.readString(pathMax)
		if err != nil {
			return err
		}
		if target == "" || bytes.IndexByte([]byte(target), 0) >= 0 {
			return fmt.Errorf("%w: invalid symlink target %q", errNarSyntax, target)
		}
		if err := w.symlink(name, target); err != nil {
			return err
		}
	case "directory":
		sub, done, err := w.dir(name)
		if err != nil {
			return err
		}
		err = d.entries(sub)
		if derr := done(); err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
		// entries consumed the directory's closing parenthesis.
		return nil
	default:
		return fmt.Errorf("%w: unknown node type %q", errNarSyntax, typ)
	}
	return d.expect(")")
}

// entries reads a directory's entries up to and including its ")".
func (d *narDecoder) entries(w narWriter) error {
	var prev string
	for first := true; ; first = false {
		tok, err := d.readString(tokenMax)
		if err != nil {
			return err
		}
		if tok == ")" {
			return nil
		}
		if tok != "entry" {
			return fmt.Errorf("%w: expected entry, got %q", errNarSyntax, tok)
		}
		if err := d.expect("("); err != nil {
			return err
		}
		if err := d.expect("name"); err != nil {
			return err
		}
		name, err := d.readString(nameMax)
		if err != nil {
			return err
		}
		if err := validName(name); err != nil {
			return err
		}
		// Strictly increasing rules out duplicates as well as disorder:
		// a second "x" could otherwise land on (or in) the first.
		if !first && name <= prev {
			return fmt.Errorf("%w: entry %q after %q: not sorted or duplicate", errNarSyntax, name, prev)
		}
		prev = name
		if d.pathLen+1+len(name) > pathMax {
			return fmt.Errorf("%w: path deeper than %d bytes", errNarSyntax, pathMax)
		}
		if err := d.expect("node"); err != nil {
			return err
		}
		saved := d.pathLen
		d.pathLen += 1 + len(name)
		err = d.node(w, name)
		d.pathLen = saved
		if err != nil {
			var at *entryError
			if errors.As(err, &at) {
				at.path = name + "/" + at.path
				return err
			}
			return &entryError{path: name, err: err}
		}
		if err := d.expect(")"); err != nil {
			return err
		}
	}
}

// validName admits what a directory entry can be on the host and nothing
// that could address anything else.
func validName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("%w: invalid entry name %q", errNarSyntax, name)
	case bytes.IndexByte([]byte(name), '/') >= 0, bytes.IndexByte([]byte(name), 0) >= 0:
		return fmt.Errorf("%w: invalid entry name %q", errNarSyntax, name)
	}
	return nil
}

// entryError says where in the NAR's tree decoding or writing failed.
type entryError struct {
	path string
	err  error
}

func (e *entryError) Error() string { return fmt.Sprintf("at %q: %v", e.path, e.err) }
func (e *entryError) Unwrap() error { return e.err }

func (d *narDecoder) readUint64() (uint64, error) {
	if _, err := io.ReadFull(d.r, d.scratch[:8]); err != nil {
		return 0, unexpected(err)
	}
	return binary.LittleEndian.Uint64(d.scratch[:8]), nil
}

// readString reads a string of at most max bytes: tokens and names into
// the scratch buffer, longer ones (symlink targets) into a new one.
func (d *narDecoder) readString(max int) (string, error) {
	n, err := d.readUint64()
	if err != nil {
		return "", err
	}
	if n > uint64(max) {
		return "", fmt.Errorf("%w: string of %d bytes where at most %d are allowed", errNarSyntax, n, max)
	}
	padded := (n + 7) &^ 7
	var buf []byte
	if padded <= uint64(len(d.scratch)) {
		buf = d.scratch[:padded]
	} else {
		buf = make([]byte, padded)
	}
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return "", unexpected(err)
	}
	if err := zeroPadding(buf[n:]); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func (d *narDecoder) padding(n uint64) error {
	p := (8 - n%8) % 8
	if p == 0 {
		return nil
	}
	buf := d.scratch[:p]
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return unexpected(err)
	}
	return zeroPadding(buf)
}

func zeroPadding(pad []byte) error {
	for _, b := range pad {
		if b != 0 {
			return fmt.Errorf("%w: non-zero padding", errNarSyntax)
		}
	}
	return nil
}

func (d *narDecoder) expect(want string) error {
	got, err := d.readString(tokenMax)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: expected %q, got %q", errNarSyntax, want, got)
	}
	return nil
}

// unexpected turns a clean EOF in the middle of a NAR into what it is.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

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
		if len(n) > nameMax {
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

func (w rootWriter) file(name string, executable bool, contents io.Reader) error {
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

func (w rootWriter) symlink(name, target string) error {
	// The target is data, stored byte for byte and never resolved here.
	name, err := w.create(name, func(n string) error { return w.r.Symlink(target, n) })
	if err != nil {
		return err
	}
	return w.owner.entry(w.r, name)
}

func (w rootWriter) dir(name string) (narWriter, func() error, error) {
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
