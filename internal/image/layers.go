package image

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/hoststore"
)

// MaxLayers is how many layers an image gets at most: well under the
// ~127 overlay layers Docker can stack, leaving room for images built
// FROM this one (nixpkgs' dockerTools defaults to 100 too).
const MaxLayers = 100

// epoch is every entry's mtime, as in the Nix store (1 second after the
// Unix epoch), so a layer's bytes depend only on the store paths.
var epoch = time.Unix(1, 0).UTC()

// Layers groups the closure's store paths into at most max layers (the
// first, the image's root directories, counted): the paths most of the
// closure needs come first, one layer each, so images of different outputs
// share the layers of what they share; the least needed (the output among
// them) go together into the last. Order and grouping depend only on the
// closure.
func Layers(c closure.Closure, max int) [][]string {
	paths := byPopularity(c)
	n := max - 1 // the root layer takes one
	if n < 1 {
		n = 1
	}
	if len(paths) <= n {
		out := make([][]string, len(paths))
		for i, p := range paths {
			out[i] = []string{p}
		}
		return out
	}
	out := make([][]string, 0, n)
	for _, p := range paths[:n-1] {
		out = append(out, []string{p})
	}
	rest := slices.Clone(paths[n-1:])
	slices.Sort(rest)
	return append(out, rest)
}

// byPopularity orders the closure as nixpkgs' referencesByPopularity
// means it: a path many others depend on (glibc) before one few need;
// popularity is how many paths of the closure need it, itself included.
// Ties go by path, so the order is the same on every machine.
func byPopularity(c closure.Closure) []string {
	refs := make(map[string][]string, len(c))
	for _, p := range c {
		refs[p.Path] = p.References
	}
	popularity := make(map[string]int, len(c))
	for _, p := range c {
		// Every path p needs (its own closure) gets one count from p.
		seen := map[string]bool{p.Path: true}
		stack := []string{p.Path}
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			popularity[q]++
			for _, r := range refs[q] {
				if _, inClosure := refs[r]; inClosure && !seen[r] {
					seen[r] = true
					stack = append(stack, r)
				}
			}
		}
	}
	paths := make([]string, 0, len(c))
	for _, p := range c {
		paths = append(paths, p.Path)
	}
	slices.SortFunc(paths, func(a, b string) int {
		if d := popularity[b] - popularity[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return paths
}

// writeRoot writes the root layer: /nix/store, and /tmp (1777, as on any
// Linux system), which programs expect to write temporary files into and
// which nothing in a closure provides.
func writeRoot(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, h := range []*tar.Header{dirHeader("nix/", 0o755), dirHeader("nix/store/", 0o755), dirHeader("tmp/", 0o1777)} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeStorePaths writes a layer holding the given store paths, read from
// where dir says they are on the host. Entries are sorted, owned by root,
// dated epoch, and have the modes Nix gives them (a NAR keeps only the
// executable bit: files 0444 or 0555, directories 0555), whatever the
// host's umask or owner made of the copy.
func writeStorePaths(w io.Writer, storePaths []string, dir func(storePath string) string) error {
	tw := tar.NewWriter(w)
	for _, h := range []*tar.Header{dirHeader("nix/", 0o755), dirHeader("nix/store/", 0o755)} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	for _, p := range storePaths {
		name := strings.TrimPrefix(path.Clean(p), "/")
		if err := writeTree(tw, dir(p), name); err != nil {
			return fmt.Errorf("layer of %s: %w", p, err)
		}
	}
	return tw.Close()
}

// writeTree writes the file, link or directory at host as name, and
// everything below it.
func writeTree(tw *tar.Writer, host, name string) error {
	fi, err := os.Lstat(host)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(host)
		if err != nil {
			return err
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch})
	case fi.IsDir():
		if err := tw.WriteHeader(dirHeader(name+"/", 0o555)); err != nil {
			return err
		}
		entries, err := os.ReadDir(host)
		if err != nil {
			return err
		}
		type child struct{ host, name string }
		children := make([]child, 0, len(entries))
		for _, e := range entries {
			children = append(children, child{filepath.Join(host, e.Name()), hoststore.NixName(e.Name())})
		}
		slices.SortFunc(children, func(a, b child) int { return strings.Compare(a.name, b.name) })
		for _, c := range children {
			if err := writeTree(tw, c.host, name+"/"+c.name); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode().IsRegular():
		mode := int64(0o444)
		if fi.Mode()&0o100 != 0 {
			mode = 0o555
		}
		f, err := os.Open(host)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: mode, ModTime: epoch}); err != nil {
			return err
		}
		n, err := io.Copy(tw, f)
		if err == nil && n != fi.Size() {
			err = fmt.Errorf("%s changed while it was read", host)
		}
		return err
	}
	return fmt.Errorf("%s is neither a file, a directory nor a link, which a store path never holds", host)
}

func dirHeader(name string, mode int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch}
}
