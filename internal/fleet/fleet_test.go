package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

func TestParse(t *testing.T) {
	routes, err := Parse(strings.NewReader("# a Mac and a server\n\nx86_64-linux = ssh://me@server\n  aarch64-linux=desktop-linux  \r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 2 || routes[0].System.String() != "x86_64-linux" || routes[0].Endpoint != "ssh://me@server" || routes[0].Line != 3 ||
		routes[1].System.String() != "aarch64-linux" || routes[1].Endpoint != "desktop-linux" || routes[1].Line != 4 {
		t.Fatalf("routes %+v", routes)
	}
	for text, want := range map[string]string{
		"aarch64-linux\n":                        "1: want SYSTEM=ENDPOINT",
		"# c\naarch64-linux =\n":                 "2: want SYSTEM=ENDPOINT",
		"= tcp://x:2375\n":                       "1: want SYSTEM=ENDPOINT",
		"arm64-linux = x\n":                      "1: ",
		"aarch64-linux = a b\n":                  "the endpoint has a space",
		"aarch64-linux = tpc://a:2375\n":         "scheme is not",
		"aarch64-linux = a\naarch64-linux = b\n": "2: aarch64-linux is routed on line 1 already",
	} {
		if _, err := Parse(strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v, want %q", text, err, want)
		}
	}
}

func TestLocate(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	getenv := func(k string) string { return env[k] }
	if p, named := Locate("", getenv); p != "/home/u/.config/nixcross/fleet" || named {
		t.Errorf("default %q %v", p, named)
	}
	env["XDG_CONFIG_HOME"] = "/cfg"
	if p, _ := Locate("", getenv); p != "/cfg/nixcross/fleet" {
		t.Errorf("XDG %q", p)
	}
	env[Env] = "/ci/fleet"
	if p, named := Locate("", getenv); p != "/ci/fleet" || !named {
		t.Errorf("env %q %v", p, named)
	}
	if p, named := Locate("mine", getenv); p != "mine" || !named {
		t.Errorf("flag %q %v", p, named)
	}
}

// TestRead: a missing default file is an empty fleet, a missing named one
// an error, and a bad line names the file and line.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none")
	if f, err := Read(missing, false); err != nil || f.Found || len(f.Routes) != 0 {
		t.Errorf("missing default: %+v %v", f, err)
	}
	if _, err := Read(missing, true); err == nil {
		t.Errorf("missing named file read without error")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("x86_64-linux = a\nnope\n"), 0o644)
	if _, err := Read(bad, true); err == nil || !strings.Contains(err.Error(), bad+":2: ") {
		t.Errorf("bad file: %v, want %s:2", err, bad)
	}
}

// TestSetRemove: set replaces a system's line in place or appends it,
// keeping comments; remove deletes only that line.
func TestSetRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nixcross", "fleet")
	arm, x86 := mustParse(t, "aarch64-linux"), mustParse(t, "x86_64-linux")
	if err := Set(path, arm, "mac"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, append(must(os.ReadFile(path)), "# the server\n"...), 0o644)
	if err := Set(path, x86, "ssh://me@server"); err != nil {
		t.Fatal(err)
	}
	if err := Set(path, arm, "tcp://pi:2375"); err != nil {
		t.Fatal(err)
	}
	if got, want := string(must(os.ReadFile(path))), "aarch64-linux = tcp://pi:2375\n# the server\nx86_64-linux = ssh://me@server\n"; got != want {
		t.Errorf("after set:\n%s\nwant:\n%s", got, want)
	}
	if removed, err := Remove(path, arm); !removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if removed, err := Remove(path, arm); removed || err != nil {
		t.Errorf("second remove: %v %v", removed, err)
	}
	if got, want := string(must(os.ReadFile(path))), "# the server\nx86_64-linux = ssh://me@server\n"; got != want {
		t.Errorf("after remove:\n%s\nwant:\n%s", got, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left beside the file: %v", entries)
	}
}

func mustParse(t *testing.T, name string) system.System {
	t.Helper()
	s, err := system.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestSetThroughLink: a fleet file linked from elsewhere is edited where
// it is, the link kept, its mode kept.
func TestSetThroughLink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "fleet")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("# mine\n"), 0o640)
	link := filepath.Join(dir, "config", "nixcross", "fleet")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := Set(link, mustParse(t, "aarch64-linux"), "mac"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	fi, _ := os.Stat(real)
	if b, _ := os.ReadFile(real); string(b) != "# mine\naarch64-linux = mac\n" || fi.Mode().Perm() != 0o640 {
		t.Errorf("the linked file: %q, mode %v", b, fi.Mode().Perm())
	}
}
