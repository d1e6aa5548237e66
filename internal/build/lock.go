package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// lockChangedNote is how Nix says, under --no-write-lock-file, that the
// flake's lock had to change (a new input, an --override-input).
const lockChangedNote = "not writing modified lock file of flake"

// settleLock deals with a flake.lock Nix had to change during a build:
// the repository is read-only in the container, so the new lock is only
// reported, or with --write-lock-file computed by Nix in the container and
// written to the client. Once per run, for the first system that builds.
// env is the build's environment (credentials for inputs it re-resolves).
func (r *Runner) settleLock(ctx context.Context, id string, req Request, prep Prepared, env []string, prefix string) error {
	if !prep.Source.Local {
		return nil
	}
	var err error
	prep.lockOnce.Do(func() {
		lockPath := filepath.Join(prep.Source.HostDir, "flake.lock")
		if !req.WriteLockFile {
			r.UI.Warnf("%s%s would change (Nix's warning above says how); the tree is left as it is: pass --write-lock-file to write it", prefix, lockPath)
			return
		}
		var out bytes.Buffer
		cmd := append([]string{"nix", "flake", "metadata", "--json", "--no-write-lock-file"}, nix.OverrideArgs(req.Nix.Overrides)...)
		cmd = append(cmd, prep.Source.ContainerDir)
		if xerr := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Env: env, Stdout: &out, Stderr: r.UI.Lines(prefix, false)}); xerr != nil {
			err = status.Environment(fmt.Errorf("compute the new flake.lock: %w", xerr), "")
			return
		}
		lock, lerr := metadataLock(out.Bytes())
		if lerr != nil {
			err = status.Environment(fmt.Errorf("compute the new flake.lock: %w", lerr), "")
			return
		}
		if werr := writeLock(lockPath, lock, r.Owner); werr != nil {
			err = status.Environment(fmt.Errorf("write %s: %w", lockPath, werr), "")
			return
		}
		r.UI.Printf("%swrote %s", prefix, lockPath)
	})
	return err
}

// metadataLock is the lock file in `nix flake metadata --json`, formatted
// as Nix writes flake.lock: keys sorted, two-space indent, final newline.
func metadataLock(metadata []byte) ([]byte, error) {
	var doc struct {
		Locks json.RawMessage `json:"locks"`
	}
	if err := json.Unmarshal(metadata, &doc); err != nil {
		return nil, fmt.Errorf("parse nix flake metadata: %w", err)
	}
	var lock any
	if len(doc.Locks) == 0 || json.Unmarshal(doc.Locks, &lock) != nil || lock == nil {
		return nil, errors.New("nix flake metadata printed no lock")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(lock); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeLock replaces path with data through a temporary file in the same
// directory, keeping the old file's mode; owner (sudo's user) gets it.
func writeLock(path string, data []byte, owner *hoststore.Owner) error {
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".flake.lock-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if owner != nil {
		if err := tmp.Chown(owner.UID, owner.GID); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
