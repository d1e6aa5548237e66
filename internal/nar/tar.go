package nar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/nix-community/go-nix/pkg/wire"
)

// TarOptions says what the daemon's tar of one store path must make.
type TarOptions struct {
	// Size is the store path's narSize: the NAR the tar makes must come
	// to exactly that, and more is refused as soon as it shows.
	Size int64
	// Check, when set, is polled between entries, for cancellation.
	Check func() error
	// Base is the store path's base name, the tar's root entry.
	Base string
	// NAR receives the NAR serialisation of the tree as it is decoded.
	NAR io.Writer
	// Open reads back a regular file already written, by its path below
	// the root ("a/f"): a hard link in the tar is a second copy of it.
	Open func(rel string) (fs.File, error)
}

// DecodeTar reads the daemon's tar of one store path (what `docker cp`
// reads) from r and writes the tree as name in w and its NAR to opts.NAR,
// so that the path is hashed exactly as if it had come as a NAR.
func DecodeTar(r io.Reader, w Writer, name string, opts TarOptions) error {
	d := tarDecoder{tr: tar.NewReader(r), opts: opts}
	err := d.decode(w, name)
	if err == nil && d.n != opts.Size {
		err = fmt.Errorf("the tar makes a NAR of %d bytes, Nix recorded a narSize of %d", d.n, opts.Size)
	}
	return err
}

// errTarOrder is a tar stream that is not the pre-order, name-sorted walk a
// NAR is; the exporter then takes the path from its NAR instead.
var errTarOrder = errors.New("tar stream is not in NAR order")

// tarDecoder turns the daemon's tar of one store path into the tree, and
// into the NAR Nix would serialise for it.
//
// Nothing in the tar is trusted: names are checked like a NAR's (no "",
// ".", "..", "/" or NUL, sorted and unique per directory), the root entry
// must carry the path's own name, every entry must sit in the directory
// the walk is in (no jumping back into a closed directory, no skipping a
// level), hard links may only name a regular file this tar has already
// written, and everything else (devices, FIFOs) is refused. The stream
// Docker produces (filepath.Walk of the path, names sorted bytewise like
// Nix's) passes; anything else fails before publishing, and the hash is
// checked regardless.
type tarDecoder struct {
	tr    *tar.Reader
	opts  TarOptions
	n     int64           // NAR bytes so far
	files map[string]bool // regular files written, by path below the root: executable
	open  []openDir       // the directories being written, outermost first
}

type openDir struct {
	rel  string // relative to the path's root, "" for the root
	w    Writer
	done func() error
	last string // the last entry name, to enforce NAR order
}

// decode writes the whole path as name through w.
func (d *tarDecoder) decode(w Writer, name string) (err error) {
	defer func() {
		// Close what is still open (on failure) so modes are restored
		// before the caller removes the temporary.
		for i := len(d.open) - 1; i >= 0; i-- {
			if derr := d.open[i].done(); err == nil {
				err = derr
			}
		}
		d.open = nil
	}()
	d.files = map[string]bool{}
	d.str(narMagic)
	hdr, err := d.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty tar", errTarOrder)
		}
		return err
	}
	root, isDir := strings.CutSuffix(hdr.Name, "/")
	if root != d.opts.Base {
		return fmt.Errorf("%w: root entry %q, want %q", errTarOrder, hdr.Name, d.opts.Base)
	}
	if err := d.node(w, name, "", hdr, isDir); err != nil {
		return err
	}
	for {
		hdr, err := d.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(d.open) == 0 {
			return fmt.Errorf("%w: entry %q after the root", errTarOrder, hdr.Name)
		}
		if err := d.entry(hdr); err != nil {
			return err
		}
	}
	for len(d.open) > 0 {
		if err := d.closeDir(); err != nil {
			return err
		}
	}
	return nil
}

func (d *tarDecoder) next() (*tar.Header, error) {
	if d.opts.Check != nil {
		if err := d.opts.Check(); err != nil {
			return nil, err
		}
	}
	if d.n > d.opts.Size {
		return nil, fmt.Errorf("the NAR outgrows its narSize of %d", d.opts.Size)
	}
	hdr, err := d.tr.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read tar: %w", err)
	}
	return hdr, err
}

// entry places one header below the root: it closes the directories the
// walk has left and checks the entry belongs in the one it is in now.
func (d *tarDecoder) entry(hdr *tar.Header) error {
	name, isDir := strings.CutSuffix(hdr.Name, "/")
	rel, ok := strings.CutPrefix(name, d.opts.Base+"/")
	if !ok {
		return fmt.Errorf("%w: entry %q outside %q", errTarOrder, hdr.Name, d.opts.Base)
	}
	parent, leaf := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		parent, leaf = rel[:i], rel[i+1:]
	}
	if err := validName(leaf); err != nil {
		return fmt.Errorf("%w: %v", errTarOrder, err)
	}
	for len(d.open) > 0 && d.open[len(d.open)-1].rel != parent {
		if err := d.closeDir(); err != nil {
			return err
		}
	}
	if len(d.open) == 0 {
		return fmt.Errorf("%w: %q is not in the directory being walked", errTarOrder, hdr.Name)
	}
	dir := &d.open[len(d.open)-1]
	if dir.last != "" && leaf <= dir.last {
		return fmt.Errorf("%w: %q after %q: not sorted or duplicate", errTarOrder, leaf, dir.last)
	}
	dir.last = leaf
	d.str("entry", "(", "name", leaf, "node")
	return d.node(dir.w, leaf, rel, hdr, isDir)
}

// node writes one entry (as name in w) and its NAR up to, not including,
// the closing parentheses of a directory, which closeDir writes.
func (d *tarDecoder) node(w Writer, name, rel string, hdr *tar.Header, isDir bool) error {
	if isDir && hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: %q: a name ending in / that is not a directory", errTarOrder, hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		sub, done, err := w.Dir(name)
		if err != nil {
			return err
		}
		d.open = append(d.open, openDir{rel: rel, w: sub, done: done})
		d.str("(", "type", "directory")
		return nil
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 || len(hdr.Linkname) > pathMax {
			return fmt.Errorf("%w: %q: invalid symlink target", errTarOrder, hdr.Name)
		}
		d.str("(", "type", "symlink", "target", hdr.Linkname, ")")
		if rel != "" {
			d.str(")") // the entry
		}
		return w.Symlink(name, hdr.Linkname)
	case tar.TypeReg:
		exec := hdr.Mode&0o100 != 0
		d.files[rel] = exec
		if err := d.file(w, name, exec, hdr.Size, d.tr); err != nil {
			return err
		}
	case tar.TypeLink:
		// Docker writes a file's second name as a link to its first. The
		// NAR has the contents twice, and so does the copy: they are read
		// back from the file already written under the first name.
		target, ok := strings.CutPrefix(hdr.Linkname, d.opts.Base+"/")
		exec, known := d.files[target]
		if !ok || !known {
			return fmt.Errorf("%w: %q: hard link to %q, not a file of this path", errTarOrder, hdr.Name, hdr.Linkname)
		}
		f, err := d.opts.Open(target)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		d.files[rel] = exec
		if err := d.file(w, name, exec, fi.Size(), f); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %q: type %q has no NAR form", errTarOrder, hdr.Name, hdr.Typeflag)
	}
	if rel != "" {
		d.str(")") // the entry
	}
	return nil
}

func (d *tarDecoder) file(w Writer, name string, exec bool, size int64, r io.Reader) error {
	d.str("(", "type", "regular")
	if exec {
		d.str("executable", "")
	}
	d.str("contents")
	// The length field now, the padding on Close.
	body, _ := wire.NewBytesWriter(narCount{d}, uint64(size))
	if size < 0 || size > d.opts.Size-d.n {
		return fmt.Errorf("file of %d bytes does not fit in the narSize of %d", size, d.opts.Size)
	}
	contents := &io.LimitedReader{R: r, N: size}
	if err := w.File(name, exec, io.TeeReader(contents, body)); err != nil {
		return err
	}
	if contents.N != 0 {
		return fmt.Errorf("%w: file contents cut short", io.ErrUnexpectedEOF)
	}
	if err := body.Close(); err != nil {
		return err
	}
	d.str(")")
	return nil
}

// closeDir ends the innermost open directory, and its entry in the parent.
func (d *tarDecoder) closeDir() error {
	dir := d.open[len(d.open)-1]
	d.open = d.open[:len(d.open)-1]
	d.str(")")
	if dir.rel != "" {
		d.str(")")
	}
	return dir.done()
}

// narCount passes NAR bytes on to the hash, counting them.
type narCount struct{ d *tarDecoder }

func (c narCount) Write(p []byte) (int, error) {
	c.d.n += int64(len(p))
	return c.d.opts.NAR.Write(p)
}

// str writes NAR strings in Nix's wire format. The NAR only goes to the
// hash and the count, which never fail, so there is no error to return.
func (d *tarDecoder) str(ss ...string) {
	for _, s := range ss {
		wire.WriteString(narCount{d}, s)
	}
}
