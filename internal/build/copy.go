package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// copySource sends the flake into the running container id at
// src.ContainerTop through the Docker API, for daemons that cannot see the
// client's files. Only what Nix would see locally goes: the files git
// tracks (working-tree contents, as Nix reads a dirty tree) or, outside
// git, the whole directory. The tar stream is produced while it is sent,
// so neither memory nor disk holds the whole source.
func copySource(ctx context.Context, eng *engine.Engine, id string, src FlakeSource, rep *ui.Reporter) error {
	files, err := sourceFiles(src)
	if err != nil {
		return status.Environment(fmt.Errorf("copy source %s: %w", src.Top, err), "")
	}
	return copyTree(ctx, eng, id, src.Top, src.ContainerTop, files, rep, "copy source "+src.Top)
}

// copyTree sends files (slash-separated, relative to top) into the
// container at containerTop, streaming the archive as it is written.
// what starts every error ("copy source /home/me/app").
func copyTree(ctx context.Context, eng *engine.Engine, id, top, containerTop string, files []string, rep *ui.Reporter, what string) error {
	var total int64
	for _, f := range files {
		if fi, err := os.Lstat(filepath.Join(top, filepath.FromSlash(f))); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	// The archive is extracted into ContainerTop rather than "/" with
	// entries for every ancestor: the daemon applies a directory entry's
	// mode and owner to an existing directory, which would rewrite /tmp
	// or /home in the container.
	if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"mkdir", "-p", containerTop}}); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return status.Environment(fmt.Errorf("%s: create %s in the container: %w", what, containerTop, err), "")
	}

	bar := rep.Progress(what, total)
	defer bar.Done()
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := writeSourceTar(pw, top, files, bar.Set)
		pw.CloseWithError(err)
		written <- err
	}()
	cerr := eng.PutArchive(ctx, id, containerTop, pr)
	// Unblocks the writer if the daemon stopped reading early.
	pr.CloseWithError(errStoppedReading)
	werr := <-written
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case werr != nil && !errors.Is(werr, errStoppedReading):
		// A local problem (a file vanished or is unreadable) explains the
		// daemon's failure better than the broken request does.
		return status.Environment(fmt.Errorf("%s: %w", what, werr), "")
	case cerr != nil:
		return status.Environment(fmt.Errorf("%s: %w", what, cerr), "")
	case werr != nil:
		// The daemon answered before the archive ended: the copy is short.
		return status.Environment(fmt.Errorf("%s: %w", what, werr), "")
	}
	return nil
}

var errStoppedReading = errors.New("the daemon stopped reading the source archive")

// sourceFiles lists what copy mode sends, as slash-separated paths relative
// to src.Top. Inside git it is what Nix's git fetcher takes from a working
// tree: the tracked files (so .gitignore is honoured by git itself and
// untracked files stay out), with tracked files deleted from the working
// tree skipped. Outside git it is everything under the flake directory,
// directories included so empty ones are recreated. .git never goes: the
// copy is then a plain path flake holding exactly those files.
func sourceFiles(src FlakeSource) ([]string, error) {
	if src.InGit {
		return gitFiles(src.Top)
	}
	// A nested repository's metadata is not source, and can be large.
	return treeFiles(src.Top, src.Top, true)
}

// treeFiles lists dir and everything below it, directories included, as
// slash-separated paths relative to top; withoutGit leaves out .git.
// Sockets, FIFOs and devices have no place in a flake and are left out.
func treeFiles(top, dir string, withoutGit bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == top {
			return nil
		}
		if withoutGit && d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if t := d.Type(); t.IsDir() || t.IsRegular() || t&fs.ModeSymlink != 0 {
			rel, err := filepath.Rel(top, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return files, nil
}

// gitFiles lists the paths git tracks in the repository at top that exist
// in the working tree.
func gitFiles(top string) ([]string, error) {
	cmd := exec.Command("git", "-C", top, "ls-files", "-z", "--cached", "--stage")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var files []string
	seen := map[string]bool{}
	for _, rec := range strings.Split(string(out), "\x00") {
		// "<mode> <object> <stage>\t<path>"
		meta, name, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		// Submodules (gitlinks) are left out: Nix only includes them for
		// a flake reference with ?submodules=1, and their files belong to
		// another repository.
		if strings.HasPrefix(meta, "160000 ") {
			continue
		}
		// A path in a merge conflict appears once per stage.
		if seen[name] {
			continue
		}
		seen[name] = true
		if _, err := os.Lstat(filepath.Join(top, filepath.FromSlash(name))); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // deleted in the working tree: Nix would not see it either
			}
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// writeSourceTar writes files (slash-separated, relative to top) to w as a
// tar archive with the same relative names. Each file's parent directories
// come first; symlinks stay symlinks and permission bits are kept. Owners
// are root, the user Nix runs as in the container. progress receives the
// file content bytes written so far.
func writeSourceTar(w io.Writer, top string, files []string, progress func(int64)) error {
	tw := tar.NewWriter(w)
	cw := &countingWriter{w: tw, progress: progress}
	dirs := map[string]bool{}
	var addDir func(rel string) error
	addDir = func(rel string) error {
		if rel == "." || rel == "" || dirs[rel] {
			return nil
		}
		if err := addDir(path.Dir(rel)); err != nil {
			return err
		}
		fi, err := os.Lstat(filepath.Join(top, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		dirs[rel] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()})
	}
	buf := make([]byte, 256<<10)
	for _, rel := range files {
		if err := addDir(path.Dir(rel)); err != nil {
			return err
		}
		full := filepath.Join(top, filepath.FromSlash(rel))
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if err := addDir(rel); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: rel, Linkname: target, Mode: 0o777, ModTime: fi.ModTime()}); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := writeFile(tw, cw, buf, full, rel); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// writeFile adds one regular file, sized from the open file so a file
// that changes between listing and sending cannot corrupt the stream.
func writeFile(tw *tar.Writer, cw io.Writer, buf []byte, full, rel string) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Size: fi.Size(), Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	n, err := io.CopyBuffer(cw, io.LimitReader(f, fi.Size()), buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("read %s: it shrank while being sent", rel)
	}
	return nil
}

// countingWriter reports the running total of bytes written.
type countingWriter struct {
	w        io.Writer
	n        int64
	progress func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(c.n)
	}
	return n, err
}
