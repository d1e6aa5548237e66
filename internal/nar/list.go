package nar

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
)

// Listing is a NAR's tree, one entry per path ("" for the root): what a
// reproducibility check compares. A file is "file <sha256>" (with " x"
// when executable), a symlink "symlink -> <target>", a directory
// "directory".
type Listing map[string]string

// List reads exactly one NAR from r, whose size nobody declared (several
// may follow each other in one stream), and returns its listing.
func List(r io.Reader) (Listing, error) {
	l := Listing{}
	d := decoder{r: r, remain: func() int64 { return math.MaxInt64 }}
	err := d.expect(narMagic)
	if err == nil {
		err = d.node(listWriter{l: l}, "")
	}
	if err != nil {
		return nil, fmt.Errorf("read NAR: %w", err)
	}
	return l, nil
}

// Diff returns the paths whose entry differs between a and b, or that
// only one has, sorted.
func (a Listing) Diff(b Listing) []string {
	var out []string
	for p, e := range a {
		if b[p] != e {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// listWriter is a Writer that records entries instead of writing them.
type listWriter struct {
	l      Listing
	prefix string
}

func (w listWriter) at(name string) string { return path.Join(w.prefix, name) }

func (w listWriter) File(name string, executable bool, contents io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, contents); err != nil {
		return err
	}
	e := fmt.Sprintf("file %x", h.Sum(nil))
	if executable {
		e += " x"
	}
	w.l[w.at(name)] = e
	return nil
}

func (w listWriter) Symlink(name, target string) error {
	w.l[w.at(name)] = "symlink -> " + target
	return nil
}

func (w listWriter) Dir(name string) (Writer, func() error, error) {
	w.l[w.at(name)] = "directory"
	return listWriter{l: w.l, prefix: w.at(name)}, func() error { return nil }, nil
}
