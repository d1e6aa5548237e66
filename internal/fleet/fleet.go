// Package fleet is the file that names a fleet once: which Docker host
// builds which system, so `nixcross build -s x86_64-linux,aarch64-linux`
// routes each system without --host-for flags.
//
// The file is nixcross's own rather than a field of Docker's contexts:
// `docker context create` can set only a description, a context's
// meta.json sits under a hash of its name, and a fleet is a list of
// routes to contexts (or addresses), not a property of one of them. A
// route's endpoint may still be a context's name, so TLS and ssh settings
// stay where Docker keeps them.
//
// One route per line, as --host-for takes it:
//
//	# the Mac's own Docker builds aarch64-linux; the server x86_64-linux
//	x86_64-linux = ssh://me@build-server
//	aarch64-linux = desktop-linux
package fleet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/system"
)

// Route is one line of a fleet: System builds on Endpoint, an address as
// --host takes it (with ://) or a Docker context's name.
type Route struct {
	System   system.System
	Endpoint string
	// Line is where the route is in its file.
	Line int
}

// File is a fleet read from Path; Routes in the file's order.
type File struct {
	Path   string
	Routes []Route
	// Found is false when Path does not exist (an empty fleet).
	Found bool
}

// Env names the variable that points at a fleet file in place of the
// default one.
const Env = "NIXCROSS_FLEET"

// DefaultPath is where the fleet file is when neither --fleet nor
// NIXCROSS_FLEET names one: $XDG_CONFIG_HOME/nixcross/fleet, else
// ~/.config/nixcross/fleet (on macOS too, beside Nix's ~/.config/nix),
// else %AppData%\nixcross\fleet; "" when none of these is known.
func DefaultPath(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".config")
		} else if app := getenv("APPDATA"); app != "" {
			dir = app
		}
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "nixcross", "fleet")
}

// Locate says which file holds the fleet: flag (--fleet) if given, else
// NIXCROSS_FLEET, else DefaultPath. named is true when the user named it,
// so a missing file is an error rather than an empty fleet.
func Locate(flag string, getenv func(string) string) (path string, named bool) {
	if flag != "" {
		return flag, true
	}
	if p := getenv(Env); p != "" {
		return p, true
	}
	return DefaultPath(getenv), false
}

// Read reads the fleet at path. A missing file is an empty fleet unless
// named; a file that does not parse is an error naming its line.
func Read(path string, named bool) (File, error) {
	f := File{Path: path}
	if path == "" {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !named {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	f.Found = true
	f.Routes, err = Parse(bytes.NewReader(b))
	if err != nil {
		return f, fmt.Errorf("%s:%w", path, err)
	}
	return f, nil
}

// LineError is a line of a fleet file that is not a route.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Parse reads routes, one `SYSTEM = ENDPOINT` per line; blank lines and
// lines starting with # are skipped. A system routed twice is an error:
// which line wins would be a guess.
func Parse(r io.Reader) ([]Route, error) {
	var routes []Route
	seen := map[system.System]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		route, err := ParseRoute(line)
		if err != nil {
			return nil, &LineError{Line: n, Err: err}
		}
		if first, dup := seen[route.System]; dup {
			return nil, &LineError{Line: n, Err: fmt.Errorf("%s is routed on line %d already", route.System, first)}
		}
		seen[route.System] = n
		route.Line = n
		routes = append(routes, route)
	}
	return routes, sc.Err()
}

// WantRoute is FormatError's Why when the text is not SYSTEM=ENDPOINT at all.
const WantRoute = "want SYSTEM=ENDPOINT"

// FormatError is a route that is not SYSTEM=ENDPOINT.
type FormatError struct{ Text, Why string }

func (e *FormatError) Error() string { return fmt.Sprintf("%s, got %q", e.Why, e.Text) }

// knownScheme: the addresses --host takes (engine.Endpoint's client
// options), so a typo is caught where the route is written.
var knownScheme = map[string]bool{"unix": true, "npipe": true, "tcp": true, "http": true, "https": true, "ssh": true}

// ParseRoute reads one `SYSTEM=ENDPOINT`, spaces around either allowed.
func ParseRoute(s string) (Route, error) {
	name, endpoint, ok := strings.Cut(s, "=")
	name, endpoint = strings.TrimSpace(name), strings.TrimSpace(endpoint)
	if !ok || name == "" || endpoint == "" {
		return Route{}, &FormatError{Text: s, Why: WantRoute}
	}
	if strings.ContainsAny(endpoint, " \t") {
		return Route{}, &FormatError{Text: s, Why: "the endpoint has a space in it"}
	}
	if scheme, _, isURL := strings.Cut(endpoint, "://"); isURL && !knownScheme[scheme] {
		return Route{}, &FormatError{Text: s, Why: "the endpoint's scheme is not unix://, tcp://, ssh:// or npipe://"}
	}
	sys, err := system.Parse(name)
	if err != nil {
		return Route{}, err
	}
	return Route{System: sys, Endpoint: endpoint}, nil
}

// Lookup is the route of s, if the fleet has one.
func (f File) Lookup(s system.System) (Route, bool) {
	for _, r := range f.Routes {
		if r.System == s {
			return r, true
		}
	}
	return Route{}, false
}

// Set routes s to endpoint: the line that routes s now is replaced,
// otherwise the route is added at the end. Comments and the other lines
// are kept as they are.
func Set(path string, s system.System, endpoint string) error {
	_, err := edit(path, s, fmt.Sprintf("%s = %s", s, endpoint))
	return err
}

// Remove deletes the line that routes s; removed is false when none did
// (and the file is left as it is).
func Remove(path string, s system.System) (removed bool, err error) {
	return edit(path, s, "")
}

// edit replaces the line that routes s with line ("" deletes it), or
// appends line, and writes the file by rename so a reader never sees half
// of it. routed says whether a line routed s before.
func edit(path string, s system.System, line string) (routed bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	f := File{Path: path}
	if f.Routes, err = Parse(bytes.NewReader(b)); err != nil {
		return false, fmt.Errorf("%s:%w", path, err)
	}
	var lines []string
	if len(b) > 0 {
		lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	}
	r, routed := f.Lookup(s)
	switch {
	case routed && line == "":
		lines = append(lines[:r.Line-1], lines[r.Line:]...)
	case routed:
		lines[r.Line-1] = line
	case line == "":
		return false, nil // nothing to remove
	default:
		lines = append(lines, line)
	}
	// A fleet file kept elsewhere (a dotfiles checkout) and linked here is
	// edited where it is; the link stays. Its mode stays too.
	mode := os.FileMode(0o644)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return routed, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fleet-*")
	if err != nil {
		return routed, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return routed, err
	}
	text := strings.Join(lines, "\n")
	if text != "" {
		text += "\n"
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return routed, err
	}
	if err := tmp.Close(); err != nil {
		return routed, err
	}
	return routed, os.Rename(tmp.Name(), path)
}
