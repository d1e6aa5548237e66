package build

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
)

// FlakeSource is where a flake lives and how the container sees it.
type FlakeSource struct {
	// Local is false for references Nix fetches itself (github:…, https:…).
	Local bool
	// HostDir is the flake directory on the client; Top is the directory
	// shared with the container: the git top-level, or HostDir outside git.
	HostDir string
	Top     string
	InGit   bool
	// ContainerTop is where Top appears in the container, ContainerDir the
	// flake directory there: the flake reference Nix builds.
	ContainerTop string
	ContainerDir string
}

// Ref is the flake reference for Nix inside the container.
func (f FlakeSource) Ref(typed string) string {
	if !f.Local {
		return typed
	}
	return f.ContainerDir
}

// StoreKey identifies the flake for its cache volume (see cache.VolumeName):
// the directory shared with the container (the git top-level, so the flakes
// of one repository share a store, as they share their files), or the
// reference as typed for flakes Nix fetches itself.
func (f FlakeSource) StoreKey(typed string) string {
	if !f.Local {
		return typed
	}
	return f.Top
}

// isRemoteRef reports whether s is a flake reference Nix resolves itself
// rather than a directory on this machine.
func isRemoteRef(s string) bool {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") {
		return false
	}
	if strings.HasPrefix(s, "path:") || strings.HasPrefix(s, "git+file:") {
		return false
	}
	if _, err := os.Stat(s); err == nil {
		return false
	}
	return strings.Contains(s, ":")
}

// ResolveFlake finds the flake on disk and decides what to share with the
// container. It touches nothing but the filesystem and git.
func ResolveFlake(typed string) (FlakeSource, error) {
	if isRemoteRef(typed) {
		return FlakeSource{Local: false}, nil
	}
	p := strings.TrimPrefix(strings.TrimPrefix(typed, "path:"), "git+file://")
	abs, err := filepath.Abs(p)
	if err != nil {
		return FlakeSource{}, status.Usage(fmt.Errorf("flake %s: %w", typed, err), "")
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	st, err := os.Stat(abs)
	if err != nil {
		return FlakeSource{}, status.Usage(fmt.Errorf("flake %s: %w", typed, unwrapPathErr(err)),
			"pass the directory that holds flake.nix (default: the current directory)")
	}
	if !st.IsDir() {
		return FlakeSource{}, status.Usage(fmt.Errorf("flake %s is not a directory", typed), "pass the directory that holds flake.nix")
	}
	if _, err := os.Stat(filepath.Join(abs, "flake.nix")); err != nil {
		found, ok := "", false
		if !strings.HasPrefix(typed, "path:") && !strings.HasPrefix(typed, "git+file:") {
			found, ok = flakeAbove(abs)
		}
		if !ok {
			return FlakeSource{}, status.Usage(fmt.Errorf("no flake.nix in %s or above it", abs),
				"run nixcross in the directory that holds flake.nix, or pass that directory as FLAKE")
		}
		abs = found
	}
	src := FlakeSource{Local: true, HostDir: abs, Top: abs}
	if top, ok := gitTopLevel(abs); ok {
		src.Top, src.InGit = top, true
	}
	src.ContainerTop = containerPath(src.Top)
	rel, err := filepath.Rel(src.Top, abs)
	if err != nil {
		return FlakeSource{}, err
	}
	src.ContainerDir = src.ContainerTop
	if rel != "." {
		src.ContainerDir = src.ContainerTop + "/" + filepath.ToSlash(rel)
	}
	return src, nil
}

// flakeAbove finds the flake a directory without flake.nix belongs to, as
// Nix does for a plain path: the nearest directory above with flake.nix,
// never above the top of a git repository (a directory holding .git).
func flakeAbove(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
		if _, err := os.Stat(filepath.Join(dir, "flake.nix")); err == nil {
			return dir, true
		}
	}
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// containerPath keeps Unix paths as they are, so Nix's messages name the
// user's own paths; Windows paths get a fixed Linux location.
func containerPath(hostPath string) string {
	if runtime.GOOS == "windows" || !strings.HasPrefix(hostPath, "/") {
		return "/src"
	}
	return hostPath
}

func gitTopLevel(dir string) (string, bool) {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", false
	}
	top := strings.TrimSpace(string(out))
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	return top, top != ""
}

// UntrackedFile reports whether rel, a path Nix named relative to the
// flake's source (the repository's top for a flake in git), exists on disk
// but is not tracked by git: Nix cannot see such files. add is rel as
// `git -C Top add` takes it. A path that would leave the repository, as
// written or through a symbolic link, is refused: it comes from a log.
func (f FlakeSource) UntrackedFile(rel string) (add string, ok bool) {
	if !f.InGit || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", false
	}
	full := filepath.Join(f.Top, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", false
	}
	if inside, err := filepath.Rel(f.Top, real); err != nil || !filepath.IsLocal(inside) {
		return "", false
	}
	if exec.Command("git", "-C", f.Top, "ls-files", "--error-unmatch", "--", rel).Run() == nil {
		return "", false
	}
	return rel, true
}

// Unignored lists, as .gitignore lines, what an output store beside the
// out-links would add to the flake's own repository: nix/ and the links,
// when the output directory dir (absolute) is inside it and git does not
// ignore them. `git add -A` would otherwise commit the store, and the
// next build would copy the store into itself (Nix then fails with
// "directory nesting too deep"). Empty when there is nothing to warn of.
func (f FlakeSource) Unignored(dir string, links []string) []string {
	if !f.InGit {
		return nil
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	rel, err := filepath.Rel(f.Top, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return nil
	}
	prefix := "/"
	if rel != "." {
		prefix += filepath.ToSlash(rel) + "/"
	}
	var lines []string
	for _, name := range append([]string{"nix/"}, links...) {
		if exec.Command("git", "-C", f.Top, "check-ignore", "-q", "--", prefix[1:]+name).Run() != nil {
			lines = append(lines, prefix+name)
		}
	}
	return lines
}
