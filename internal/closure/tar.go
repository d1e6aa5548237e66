package closure

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nix-community/go-nix/pkg/wire"
)

// TarSource is a Source that can also stream one store path as the Docker
// daemon's own tar of it (CopyFromContainer, what `docker cp` reads). That
// stream leaves out the process and the shim an exec needs and was 1.2x to
// 2x faster than a NAR through an exec on the benchmark machine
// (bench/export), which for a large path is worth a request of its own.
type TarSource interface {
	Source
	// Tar returns the daemon's tar of storePath: its root entry named by
	// the path's base name, then everything below it.
	Tar(ctx context.Context, storePath string) (io.ReadCloser, error)
}

// tarMinSize is the narSize from which a path goes through Tar: below it
// the request's fixed cost (a round trip and an archive set-up in the
// daemon, a few milliseconds) outweighs the faster stream.
var tarMinSize int64 = 16 << 20

// errTarOrder is a tar stream that is not the pre-order, name-sorted walk a
// NAR is; the path is then exported from its NAR instead.
var errTarOrder = errors.New("tar stream is not in NAR order")

// tarDecoder turns the daemon's tar of one store path into the tree, and
// into the NAR Nix would serialise for it, written to nar as it goes so
// that the path is hashed exactly as if it had come as a NAR.
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
	tr      *tar.Reader
	base    string    // the store path's base name, the tar's root entry
	nar     io.Writer // receives the NAR serialisation
	narSize int64     // what the NAR must come to; more is refused early
	n       int64     // NAR bytes so far
	root    *os.Root  // the output store's nix/store, for hard link sources
	tmp     string    // the temporary name the path is written under
	check   func() error
	files   map[string]bool // regular files written, by path below the root: executable
	open    []openDir       // the directories being written, outermost first
}

type openDir struct {
	rel  string // relative to the path's root, "" for the root
	w    narWriter
	done func() error
	last string // the last entry name, to enforce NAR order
}

// decode writes the whole path as tmp through w.
func (d *tarDecoder) decode(w narWriter) (err error) {
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
	name, isDir := strings.CutSuffix(hdr.Name, "/")
	if name != d.base {
		return fmt.Errorf("%w: root entry %q, want %q", errTarOrder, hdr.Name, d.base)
	}
	if err := d.node(w, d.tmp, "", hdr, isDir); err != nil {
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
	if d.check != nil {
		if err := d.check(); err != nil {
			return nil, err
		}
	}
	if d.n > d.narSize {
		return nil, fmt.Errorf("the NAR outgrows its narSize of %d", d.narSize)
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
	rel, ok := strings.CutPrefix(name, d.base+"/")
	if !ok {
		return fmt.Errorf("%w: entry %q outside %q", errTarOrder, hdr.Name, d.base)
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
func (d *tarDecoder) node(w narWriter, name, rel string, hdr *tar.Header, isDir bool) error {
	if isDir && hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: %q: a name ending in / that is not a directory", errTarOrder, hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		sub, done, err := w.dir(name)
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
		return w.symlink(name, hdr.Linkname)
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
		target, ok := strings.CutPrefix(hdr.Linkname, d.base+"/")
		exec, known := d.files[target]
		if !ok || !known {
			return fmt.Errorf("%w: %q: hard link to %q, not a file of this path", errTarOrder, hdr.Name, hdr.Linkname)
		}
		f, err := d.root.Open(d.tmp + "/" + target)
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

func (d *tarDecoder) file(w narWriter, name string, exec bool, size int64, r io.Reader) error {
	d.str("(", "type", "regular")
	if exec {
		d.str("executable", "")
	}
	d.str("contents")
	// The length field now, the padding on Close.
	body, _ := wire.NewBytesWriter(narCount{d}, uint64(size))
	if size < 0 || size > d.narSize-d.n {
		return fmt.Errorf("file of %d bytes does not fit in the narSize of %d", size, d.narSize)
	}
	contents := &io.LimitedReader{R: r, N: size}
	if err := w.file(name, exec, io.TeeReader(contents, body)); err != nil {
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
	return c.d.nar.Write(p)
}

// str writes NAR strings in Nix's wire format. The NAR only goes to the
// hash and the count, which never fail, so there is no error to return.
func (d *tarDecoder) str(ss ...string) {
	for _, s := range ss {
		wire.WriteString(narCount{d}, s)
	}
}
