package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// ResolveInputs finds what the container must see besides the flake: its
// inputs on the client's file system and the local --override-input
// references (see flake.Inputs). A missing input is a usage error.
func ResolveInputs(src FlakeSource, overrides []flake.Override) ([]flake.Input, error) {
	dir, visible := "", ""
	if src.Local {
		dir, visible = src.HostDir, src.Top
	}
	inputs, err := flake.Inputs(dir, visible, overrides)
	if err != nil {
		return nil, err
	}
	if len(inputs) > 0 && runtime.GOOS == "windows" {
		return nil, status.Usage(fmt.Errorf("input %s: %s: inputs outside the flake's directory need the same path in the container, which Windows paths cannot have", inputs[0].Name, inputs[0].Path),
			"move the input inside the flake's repository, or build from WSL")
	}
	return inputs, nil
}

// inputMounts bind-mounts each local input read-only at its own path, so
// the references in flake.lock and on the command line mean the same in
// the container.
func inputMounts(inputs []flake.Input) []mount.Mount {
	var mounts []mount.Mount
	for _, in := range inputs {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: in.Top, Target: in.Top, ReadOnly: true})
	}
	return mounts
}

// inputChecks is a shell condition that holds when every mounted input is
// really there: a daemon on another machine mounts an empty directory.
func inputChecks(inputs []flake.Input) string {
	var conds []string
	for _, in := range inputs {
		switch {
		case in.Git:
			conds = append(conds, fmt.Sprintf("[ -e %s ]", shell.Quote(in.Top+"/.git")))
		default:
			conds = append(conds, fmt.Sprintf(`[ -n "$(ls -A %s 2>/dev/null)" ]`, shell.Quote(in.Top)))
		}
	}
	return strings.Join(conds, " && ")
}

// copyInputs streams each local input into the container at its own path,
// as copySource does the flake. A git input goes as its tracked files with
// its .git directory (Nix fetches the locked revision from the history); a
// path input as everything in it.
func copyInputs(ctx context.Context, eng *engine.Engine, id string, inputs []flake.Input, rep *ui.Reporter) error {
	for _, in := range inputs {
		top, files, err := inputFiles(in)
		if err != nil {
			return status.Environment(fmt.Errorf("copy input %s (%s): %w", in.Name, in.Top, err), "")
		}
		if err := copyTree(ctx, eng, id, top, top, files, rep, fmt.Sprintf("copy input %s (%s)", in.Name, in.Top)); err != nil {
			return err
		}
	}
	return nil
}

// inputFiles is the directory to send an input into and the files under
// it, relative and slash-separated.
func inputFiles(in flake.Input) (string, []string, error) {
	fi, err := os.Stat(in.Top)
	if err != nil {
		return "", nil, err
	}
	if !fi.IsDir() {
		return filepath.Dir(in.Top), []string{filepath.Base(in.Top)}, nil
	}
	if !in.Git {
		// Nix's path fetcher takes the directory whole, .git included,
		// and checks the lock's narHash against exactly that.
		files, err := treeFiles(in.Top, in.Top, false)
		return in.Top, files, err
	}
	files, err := gitFiles(in.Top)
	if err != nil {
		return "", nil, err
	}
	history, err := treeFiles(in.Top, filepath.Join(in.Top, ".git"), false)
	if err != nil {
		return "", nil, err
	}
	return in.Top, append(files, history...), nil
}
