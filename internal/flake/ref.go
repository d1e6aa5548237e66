package flake

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
)

// location is where a local input is on the client, as its reference
// names it.
type location struct {
	// Path may be relative: to the directory of the flake that names it.
	Path string
	// Git says Nix reads it as a git repository (git+file:, type git, or a
	// plain path inside a repository), so its top-level must be visible.
	Git bool
	// Plain is a path written without a scheme: Nix takes it as git+file
	// when it is inside a repository, as path: otherwise.
	Plain bool
	// Dir is the ?dir= subdirectory that holds flake.nix.
	Dir string
}

// lockedLocation is where a lock node's locked reference is on the
// client; false for anything Nix fetches over the network.
func lockedLocation(locked map[string]any) (location, bool) {
	switch attr(locked, "type") {
	case "path":
		p := attr(locked, "path")
		return location{Path: p}, p != ""
	case "git", "hg", "tarball", "file":
		p, ok := fileURLPath(attr(locked, "url"))
		if !ok {
			return location{}, false
		}
		return location{Path: p, Git: attr(locked, "type") == "git", Dir: attr(locked, "dir")}, true
	}
	return location{}, false
}

// fileURLPath is the path of a file:// URL (or of a bare absolute path,
// which Nix accepts as a URL), without query or fragment.
func fileURLPath(u string) (string, bool) {
	if strings.HasPrefix(u, "/") {
		u = "file://" + u
	}
	if !strings.HasPrefix(u, "file:") {
		return "", false
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Path == "" {
		return "", false
	}
	return parsed.Path, true
}

// refLocation is where a flake reference as the user writes it (in
// flake.nix or --override-input) is on the client; false for references
// Nix fetches (github:, https:, registry names).
func refLocation(ref string) (location, bool) {
	if strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "~") {
		p, q, _ := strings.Cut(ref, "?")
		return location{Path: p, Plain: true, Dir: queryDir(q)}, true
	}
	scheme, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return location{}, false // a registry name such as nixpkgs
	}
	rest, q, _ := strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	loc := location{Dir: queryDir(q), Git: scheme == "git+file"}
	switch scheme {
	case "path":
		loc.Path = rest
	case "git+file", "hg+file", "file+file", "tarball+file", "file":
		// file:///abs, file:/abs, and Nix's relative file:./x alike.
		loc.Path = strings.TrimPrefix(rest, "//")
	default:
		return location{}, false
	}
	if p, err := url.PathUnescape(loc.Path); err == nil {
		loc.Path = p
	}
	return loc, loc.Path != ""
}

func queryDir(q string) string {
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	return v.Get("dir")
}

// Override is one --override-input NAME FLAKEREF.
type Override struct {
	// Name is the input path: "lib", or "lib/nixpkgs" for a nested input.
	Name string
	// Ref is the reference Nix receives: as given, with a local path made
	// absolute on the client (~ and relative paths mean nothing in the
	// container).
	Ref string
	// loc is set for a local reference, with an absolute Path.
	loc   location
	local bool
}

// ParseOverride checks one --override-input and resolves a local reference
// against the client's working directory cwd and home directory home.
func ParseOverride(name, ref, cwd, home string) (Override, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return Override{}, status.Usage(fmt.Errorf("--override-input: %q is not an input name", name), "name the input as flake.nix does (lib), or a nested one with / (lib/nixpkgs)")
	}
	if ref == "" {
		return Override{}, status.Usage(fmt.Errorf("--override-input %s: the flake reference is empty", name), "write --override-input NAME FLAKEREF")
	}
	o := Override{Name: name, Ref: ref}
	loc, ok := refLocation(ref)
	if !ok {
		return o, nil
	}
	switch {
	case loc.Path == "~" || strings.HasPrefix(loc.Path, "~/"):
		if home == "" {
			return Override{}, status.Usage(fmt.Errorf("--override-input %s: cannot expand ~ without a home directory", name), "give an absolute path")
		}
		loc.Path = filepath.Join(home, strings.TrimPrefix(loc.Path, "~"))
	case strings.HasPrefix(loc.Path, "~"):
		return Override{}, status.Usage(fmt.Errorf("--override-input %s: %s: only ~/ is expanded", name, loc.Path), "give an absolute path")
	case !filepath.IsAbs(loc.Path):
		loc.Path = filepath.Join(cwd, loc.Path)
	}
	loc.Path = filepath.Clean(loc.Path)
	o.loc, o.local = loc, true
	o.Ref = absoluteRef(ref, loc.Path)
	return o, nil
}

// absoluteRef rewrites ref's path part to abs, keeping its scheme and
// query: Nix in the container must not resolve it against its own
// working directory.
func absoluteRef(ref, abs string) string {
	_, q, hasQuery := strings.Cut(ref, "?")
	var out string
	switch {
	case strings.HasPrefix(ref, "path:"):
		out = "path:" + abs
	case strings.Contains(ref, "+file:") || strings.HasPrefix(ref, "file:"):
		scheme, _, _ := strings.Cut(ref, ":")
		out = scheme + "://" + abs
	default:
		out = abs
	}
	if hasQuery {
		out += "?" + q
	}
	return out
}
