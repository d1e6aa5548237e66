package flake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
)

// Input is an input on the client's file system that the build container
// must see.
type Input struct {
	// Name says where it comes from: the input path ("lib",
	// "app/lib"), or the URL as flake.nix writes it for an input the
	// lock does not pin yet.
	Name string
	// Path is what the reference names, as it names it (absolute).
	Path string
	// Top is what to make visible, at the same path: the git top-level
	// for an input Nix reads as a repository (so Nix sees the same tracked
	// files and revisions), else Path, a directory or a file.
	Top string
	// Git says Top is a git repository whose history Nix reads.
	Git bool
}

// Inputs finds the local inputs of the flake in dir: those its flake.lock
// pins (following nested flakes and `follows`), those flake.nix names that
// the lock does not pin yet, and the local --override-input references, in
// place of what they override. Anything inside visible (the flake's own
// shared directory) is left out, and so is any input inside another one.
// dir is "" for a flake Nix fetches itself: only overrides count then.
// An input whose path does not exist is a usage error naming it.
func Inputs(dir, visible string, overrides []Override) ([]Input, error) {
	c := &collector{overrides: map[string]Override{}, used: map[string]bool{}, flakes: map[string]bool{}}
	for _, o := range overrides {
		c.overrides[o.Name] = o
	}
	if dir != "" {
		if err := c.flake(dir, nil); err != nil {
			return nil, err
		}
	}
	// Overrides of inputs the lock does not have yet still reach Nix.
	for _, o := range overrides {
		if !c.used[o.Name] {
			if err := c.override(o, strings.Split(o.Name, "/")); err != nil {
				return nil, err
			}
		}
	}
	return outermost(c.found, visible), nil
}

type collector struct {
	overrides map[string]Override
	used      map[string]bool
	// flakes holds the flake directories already read.
	flakes map[string]bool
	found  []Input
}

// flake reads the flake in dir, reached through the input path prefix
// (nil for the flake being built).
func (c *collector) flake(dir string, prefix []string) error {
	if c.flakes[dir] {
		return nil
	}
	c.flakes[dir] = true
	lock, err := ReadLock(dir)
	if err != nil {
		return status.Usage(err, "fix or delete the lock file; Nix rewrites it")
	}
	if lock != nil {
		w := &walk{c: c, lock: lock, dirs: map[string]string{}, seen: map[string]bool{}}
		if err := w.node(lock.Root, prefix, dir); err != nil {
			return err
		}
	}
	return c.unpinned(dir, lock, prefix)
}

// walk is one lock file's traversal.
type walk struct {
	c    *collector
	lock *Lock
	// dirs is each walked node's flake directory on the client; "" for
	// nodes Nix fetches.
	dirs map[string]string
	seen map[string]bool
}

func (w *walk) node(key string, path []string, dir string) error {
	if w.seen[key] {
		return nil
	}
	w.seen[key] = true
	w.dirs[key] = dir
	n := w.lock.Nodes[key]
	names := make([]string, 0, len(n.Inputs))
	for name := range n.Inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := append(slices.Clip(path), name)
		if o, ok := w.c.overrides[strings.Join(p, "/")]; ok {
			if err := w.c.override(o, p); err != nil {
				return err
			}
			continue
		}
		ref := n.Inputs[name]
		if ref.Follows != nil {
			continue // the input it follows is walked on its own path
		}
		child, ok := w.lock.Nodes[ref.Node]
		if !ok {
			return status.Usage(fmt.Errorf("flake.lock in %s: input %s names node %q, which is missing", dir, strings.Join(p, "/"), ref.Node), "fix or delete the lock file; Nix rewrites it")
		}
		loc, local := lockedLocation(child.Locked)
		childDir := ""
		if local {
			abs := loc.Path
			if !filepath.IsAbs(abs) {
				base := dir
				if child.Parent != nil {
					base = w.dirs[w.lock.resolve(child.Parent)]
				}
				if base == "" {
					// Relative to a flake Nix fetches: inside its source.
					if err := w.node(ref.Node, p, ""); err != nil {
						return err
					}
					continue
				}
				abs = filepath.Join(base, abs)
			}
			in, err := w.c.add(strings.Join(p, "/"), abs, loc, false)
			if err != nil {
				return err
			}
			childDir = filepath.Join(in.Path, loc.Dir)
		}
		if err := w.node(ref.Node, p, childDir); err != nil {
			return err
		}
	}
	return nil
}

// override records a local --override-input and reads the flake it names:
// Nix locks an overridden input's own inputs from its flake.lock.
func (c *collector) override(o Override, path []string) error {
	if c.used[o.Name] {
		return nil
	}
	c.used[o.Name] = true
	if !o.local {
		return nil
	}
	in, err := c.add("--override-input "+o.Name, o.loc.Path, o.loc, false)
	if err != nil {
		return err
	}
	dir := filepath.Join(in.Path, o.loc.Dir)
	if _, err := os.Stat(filepath.Join(dir, "flake.nix")); err != nil {
		return nil // a non-flake input
	}
	return c.flake(dir, path)
}

// inputURL finds `url = "…"` in flake.nix, with the input's name when it is
// written as NAME.url or inputs.NAME.url.
var inputURL = regexp.MustCompile(`(?:([A-Za-z_][A-Za-z0-9_'-]*)\.)?url\s*=\s*"([^"$\\]*)"`)

// unpinned adds the local inputs flake.nix in dir names that lock (nil
// when there is none) does not pin at the top: Nix locks those on the fly,
// reading their own flake.lock. flake.nix is not evaluated, only searched
// for URL strings, so a path that is not there is skipped, not an error
// (it may be in a comment).
func (c *collector) unpinned(dir string, lock *Lock, prefix []string) error {
	src, err := os.ReadFile(filepath.Join(dir, "flake.nix"))
	if err != nil {
		return nil
	}
	var rootInputs map[string]InputRef
	if lock != nil {
		rootInputs = lock.Nodes[lock.Root].Inputs
	}
	for _, m := range inputURL.FindAllStringSubmatch(string(src), -1) {
		name, ref := m[1], m[2]
		if _, pinned := rootInputs[name]; pinned && name != "" {
			continue
		}
		if _, overridden := c.overrides[strings.Join(append(slices.Clip(prefix), name), "/")]; overridden && name != "" {
			continue
		}
		loc, ok := refLocation(ref)
		if !ok || strings.HasPrefix(loc.Path, "~") {
			continue
		}
		abs := loc.Path
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, abs)
		}
		label := ref
		if name != "" {
			label = strings.Join(append(slices.Clip(prefix), name), "/")
		}
		in, err := c.add(label, abs, loc, true)
		if err != nil || in.Path == "" {
			continue
		}
		sub := filepath.Join(in.Path, loc.Dir)
		if _, err := os.Stat(filepath.Join(sub, "flake.nix")); err == nil {
			var p []string
			if name != "" {
				p = append(slices.Clip(prefix), name)
			}
			if err := c.flake(sub, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// add records the input name at the absolute path p. A missing path is a
// usage error, or with guess an Input with an empty Path.
func (c *collector) add(name, p string, loc location, guess bool) (Input, error) {
	p = filepath.Clean(p)
	if _, err := os.Stat(p); err != nil {
		if guess {
			return Input{}, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("no such file or directory")
		}
		hint := "the flake's inputs must exist on this machine; point the input elsewhere with --override-input " + name + " PATH"
		if strings.HasPrefix(name, "--override-input ") {
			hint = "give --override-input the path of an existing checkout"
		}
		return Input{}, status.Usage(fmt.Errorf("input %s: %s: %w", name, p, err), hint)
	}
	in := Input{Name: name, Path: p, Top: p}
	if loc.Git || loc.Plain {
		if top, common, ok := gitTop(p); ok {
			in.Top, in.Git = top, true
			if common != "" && !within(common, top) {
				// A worktree: the objects live in the main repository.
				c.found = append(c.found, Input{Name: name, Path: common, Top: common})
			}
		}
	}
	c.found = append(c.found, in)
	return in, nil
}

// gitTop is the top-level of the repository holding p, spelled through
// p's own path (git answers with symlinks resolved; the container must
// see the path the reference names), and its common git directory.
func gitTop(p string) (top, common string, ok bool) {
	dir := p
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		dir = filepath.Dir(p)
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel", "--path-format=absolute", "--git-common-dir").Output()
	if err != nil {
		return "", "", false
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return "", "", false
	}
	top = lines[0]
	if len(lines) > 1 {
		common = lines[1]
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return top, common, true
	}
	rel, err := filepath.Rel(top, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return top, common, true
	}
	if rel == "." {
		return dir, common, true
	}
	if named, ok := strings.CutSuffix(dir, string(filepath.Separator)+rel); ok {
		return named, common, true
	}
	return top, common, true
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// outermost drops inputs inside visible or inside another input's Top,
// and duplicates; the rest are sorted by Top.
func outermost(found []Input, visible string) []Input {
	sort.SliceStable(found, func(i, j int) bool { return found[i].Top < found[j].Top })
	realVisible := visible
	if r, err := filepath.EvalSymlinks(visible); err == nil {
		realVisible = r
	}
	var kept []Input
	for _, in := range found {
		real := in.Top
		if r, err := filepath.EvalSymlinks(in.Top); err == nil {
			real = r
		}
		if visible != "" && (within(in.Top, visible) || within(real, realVisible)) {
			continue
		}
		if slices.ContainsFunc(kept, func(k Input) bool { return within(in.Top, k.Top) }) {
			continue
		}
		kept = append(kept, in)
	}
	return kept
}
