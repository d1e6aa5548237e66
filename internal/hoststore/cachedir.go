package hoststore

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// CacheFiles says what ExtractCache did: files new to the directory, and
// files it replaced (a narinfo or NAR the cache already had).
type CacheFiles struct{ New, Replaced int }

// ExtractCache merges a binary cache directory, as the daemon's tar of it
// (what `docker cp` reads; the root entry is the directory's own name),
// into dir on the host. A remote daemon cannot bind-mount dir, so Nix
// writes the cache inside the container and this brings it back.
//
// Nothing in the tar is trusted: every name is resolved inside dir through
// os.Root, so no "..", absolute name or symlink reaches outside it; only
// directories and regular files are accepted (a cache holds nothing else),
// and the tar's owners and modes are ignored. Each file is written under a
// temporary name and renamed over its final one, so that a reader (Nix
// substituting from the cache meanwhile) never sees half a file. What is
// created belongs to owner (nil: the process).
func ExtractCache(r io.Reader, dir string, owner *Owner) (CacheFiles, error) {
	var got CacheFiles
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return got, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return got, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	top := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("read the cache's tar: %w", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if top == "" {
			// The root entry: the container's directory itself.
			if h.Typeflag != tar.TypeDir || strings.Contains(name, "/") {
				return got, fmt.Errorf("the cache's tar starts with %q, not its directory", h.Name)
			}
			top = name
			if err := owner.entry(root, "."); err != nil {
				return got, err
			}
			continue
		}
		rel, ok := strings.CutPrefix(name, top+"/")
		if !ok || !fs.ValidPath(rel) || rel == "." {
			return got, fmt.Errorf("the cache's tar holds %q, outside its directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(rel, dirMode); err != nil && !errors.Is(err, os.ErrExist) {
				return got, err
			}
			if err := owner.entry(root, rel); err != nil {
				return got, err
			}
		case tar.TypeReg:
			replaced, err := putCacheFile(root, rel, tr, owner)
			if err != nil {
				return got, fmt.Errorf("write %s: %w", rel, err)
			}
			if replaced {
				got.Replaced++
			} else {
				got.New++
			}
		default:
			return got, fmt.Errorf("the cache's tar holds %q of type %q: a binary cache has only files and directories", h.Name, h.Typeflag)
		}
	}
}

// putCacheFile writes rel in root from r under a temporary name, then
// renames it into place. It says whether rel was already there.
func putCacheFile(root *os.Root, rel string, r io.Reader, owner *Owner) (replaced bool, err error) {
	tmp := path.Join(path.Dir(rel), tempName(path.Base(rel)))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			root.Remove(tmp)
		}
	}()
	if err := owner.file(f); err != nil {
		f.Close()
		return false, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if fi, err := root.Lstat(rel); err == nil {
		if !fi.Mode().IsRegular() {
			return false, fmt.Errorf("%s is already there and not a file", rel)
		}
		replaced = true
	}
	return replaced, root.Rename(tmp, rel)
}
