// Package nar owns Nix's archive format as nixcross receives it from a
// build container it does not trust: a strict decoder of NAR streams
// (Decode), the daemon's tar of a store path turned into the same tree
// and the NAR Nix would serialise for it (DecodeTar), and the read-ahead
// ring that lets the stream and the disk work at the same time. What the
// decoded tree is written to, and whether its hash is right, belong to the
// callers (internal/hoststore and internal/closure).
package nar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	// NameMax is NAME_MAX: a longer entry could not be created anyway.
	NameMax = 255
	// pathMax is PATH_MAX less the NUL. It bounds the depth of the tree,
	// hence the recursion and the directory descriptors held open.
	pathMax = 4095
	// tokenMax fits every keyword of the format ("executable", "directory").
	tokenMax = 16
)

var errNarSyntax = errors.New("malformed NAR")

// Writer receives the decoded tree. Every name it is given has been
// checked by validName and is unique within its directory.
type Writer interface {
	File(name string, executable bool, contents io.Reader) error
	Symlink(name, target string) error
	// Dir creates a directory and returns the writer for its entries;
	// done is called after the last entry, also on failure.
	Dir(name string) (sub Writer, done func() error, err error)
}

// Options says what a stream must be.
type Options struct {
	// Size is the NAR's length as Nix recorded it (narSize). The stream
	// is read up to there and no further, so that a NAR claiming more
	// than its declared size fails instead of eating the next path.
	Size int64
	// Check, when set, is polled between entries, for cancellation.
	Check func() error
}

// Decode reads one NAR of exactly opts.Size bytes from r and writes its
// root as name in w. Whatever r holds after those bytes is left unread.
func Decode(r io.Reader, w Writer, name string, opts Options) error {
	lr := &io.LimitedReader{R: r, N: opts.Size}
	d := decoder{r: lr, remain: func() int64 { return lr.N }, check: opts.Check}
	err := d.expect(narMagic)
	if err == nil {
		err = d.node(w, name)
	}
	if err == nil && lr.N != 0 {
		err = fmt.Errorf("NAR ends %d bytes before its narSize of %d", lr.N, opts.Size)
	} else if errors.Is(err, io.ErrUnexpectedEOF) && lr.N == 0 {
		err = fmt.Errorf("NAR is longer than its narSize of %d: %w", opts.Size, err)
	}
	return err
}

// decoder reads one NAR from r, which ends exactly where the NAR must.
type decoder struct {
	r       io.Reader
	remain  func() int64 // bytes left in r; a declared size beyond it is rejected up front
	scratch [NameMax + 8]byte
	pathLen int
	check   func() error // polled between entries, for cancellation
}

func (d *decoder) node(w Writer, name string) error {
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
		if err := w.File(name, executable, contents); err != nil {
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
		if err := w.Symlink(name, target); err != nil {
			return err
		}
	case "directory":
		sub, done, err := w.Dir(name)
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
func (d *decoder) entries(w Writer) error {
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
		name, err := d.readString(NameMax)
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

func (d *decoder) readUint64() (uint64, error) {
	if _, err := io.ReadFull(d.r, d.scratch[:8]); err != nil {
		return 0, unexpected(err)
	}
	return binary.LittleEndian.Uint64(d.scratch[:8]), nil
}

// readString reads a string of at most max bytes: tokens and names into
// the scratch buffer, longer ones (symlink targets) into a new one.
func (d *decoder) readString(max int) (string, error) {
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

func (d *decoder) padding(n uint64) error {
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

func (d *decoder) expect(want string) error {
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
