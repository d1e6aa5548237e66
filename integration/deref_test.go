//go:build integration

package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/nixcross/nixcross/internal/hoststore"
)

// derefFlake writes, in a fresh workdir, an offline flake whose x86_64
// package is made by build.sh run with the container's /bin/sh (no
// PATH: tools are named by their path). It returns the workdir, where
// the result goes, and the flake's directory.
func derefFlake(t *testing.T, script string) (dir, flake string) {
	t.Helper()
	dir = workdir(t)
	flake = filepath.Join(dir, "flake")
	if err := os.Mkdir(flake, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"flake.nix": `{ outputs = { self }: { packages.x86_64-linux.default = derivation {
  name = "deref"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ ./build.sh ];
}; }; }`,
		"build.sh": script,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(flake, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, flake
}

func derefBuild(t *testing.T, dir, flake string, extra ...string) run {
	t.Helper()
	args := append([]string{"build", flake, "--system", "x86_64-linux", "--dereference"}, extra...)
	return nixcross(t, dir, []string{"NO_COLOR=1"}, append(args, offline...)...)
}

// resultKept checks dir/result still points at the exported output.
func resultKept(t *testing.T, dir string) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, "result"))
	if err != nil {
		t.Fatalf("the out-link is gone: %v", err)
	}
	if !strings.HasPrefix(target, "nix/store/") {
		t.Fatalf("result -> %s, not into nix/store beside it", target)
	}
	if _, err := os.Lstat(filepath.Join(dir, target)); err != nil {
		t.Fatalf("result's target: %v", err)
	}
}

// noHostInCopy fails if anything in the copy at dir/result-deref is a
// link that leaves the copy (absolute, or climbing above it), or a file
// that came from the host's /etc.
func noHostInCopy(t *testing.T, dir string) {
	t.Helper()
	top, err := filepath.EvalSymlinks(filepath.Join(dir, "result-deref"))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			resolved := filepath.Join(filepath.Dir(p), target)
			if filepath.IsAbs(target) || !strings.HasPrefix(resolved, top+string(filepath.Separator)) {
				t.Errorf("%s -> %s leaves the copy", p, target)
			}
		}
		if d.Name() == "shadow" || d.Name() == "passwd" || d.Name() == "hostname" {
			t.Errorf("a host file in the copy: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDerefOutputLinkingOut: an output that is itself a link out of the
// closure (ln -s /etc $out) gets no copy: exit 1 naming it, no
// result-deref, and result is kept.
func TestDerefOutputLinkingOut(t *testing.T) {
	dir, flake := derefFlake(t, "/bin/ln -s /etc $out\n")
	r := derefBuild(t, dir, flake)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the copy refused)", r.code)
	}
	if !strings.Contains(r.stderr, "-deref") || !strings.Contains(r.stderr, "/etc") {
		t.Errorf("the error does not name the output's link to /etc:\n%s", r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(dir, "result-deref")); !os.IsNotExist(err) {
		t.Errorf("result-deref was written: %v", err)
	}
	resultKept(t, dir)
	// A rerun says the same, instead of tripping over its first try.
	if r := derefBuild(t, dir, flake); r.code != 1 || strings.Contains(r.stderr, "refusing to replace") {
		t.Fatalf("rerun: exit %d", r.code)
	}
}

// hostileName is a link name that would forge a line and set the
// terminal's title if printed as it is.
const hostileName = "x\x1b[2K\rfake: all good\x1b]0;pwned\a"

// TestDerefInnerLinksLeavingClosure: links inside the output to host paths
// (absolute, or climbing out with ..) are left out of the copy and named
// in a warning whose bytes hold no control character, even for a link
// named with ESC, CR and BEL.
func TestDerefInnerLinksLeavingClosure(t *testing.T) {
	dir, flake := derefFlake(t, `/bin/mkdir -p $out/sub
echo hello > $out/greeting
/bin/ln -s /etc/shadow $out/shadow
/bin/ln -s /etc $out/etc
/bin/ln -s ../../../../../../../../etc/passwd $out/sub/passwd
/bin/ln -s greeting $out/sub/../again
/bin/ln -s /etc/hostname "$out/$(printf 'x\033[2K\rfake: all good\033]0;pwned\a')"
`)
	r := derefBuild(t, dir, flake)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	resultKept(t, dir)
	noHostInCopy(t, dir)
	if g, err := os.ReadFile(filepath.Join(dir, "result-deref", "greeting")); err != nil || string(g) != "hello\n" {
		t.Fatalf("result-deref/greeting: %q %v", g, err)
	}
	for _, name := range []string{"shadow", "etc", "sub/passwd", hostileName} {
		if _, err := os.Lstat(filepath.Join(dir, "result-deref", name)); !os.IsNotExist(err) {
			t.Errorf("%q is in the copy: %v", name, err)
		}
	}
	for _, want := range []string{"/etc/shadow", `x\x1b[2K\rfake: all good\x1b]0;pwned\a`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name %q", want)
		}
	}
	noControlBytes(t, r.stderr)
}

// noControlBytes fails on any control byte but newline and tab, raw C1
// characters and invalid UTF-8 in s.
func noControlBytes(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("stderr is not valid UTF-8")
	}
	for i, c := range s {
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			t.Errorf("raw control character %#x at byte %d of stderr: %q", c, i, s[max(0, i-40):min(len(s), i+40)])
		}
	}
}

// TestDerefRefusesUsersPath: a directory or file at the -deref path that
// nixcross did not make is refused with exit 2 before anything is
// written, and survives.
func TestDerefRefusesUsersPath(t *testing.T) {
	for _, isDir := range []bool{true, false} {
		dir, flake := derefFlake(t, "echo hi > $out\n")
		mine := filepath.Join(dir, "result-deref")
		if isDir {
			os.Mkdir(mine, 0o755)
			mine = filepath.Join(mine, "mine")
		}
		if err := os.WriteFile(mine, []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := derefBuild(t, dir, flake)
		if r.code != 2 {
			t.Fatalf("exit %d, want 2", r.code)
		}
		if b, err := os.ReadFile(mine); err != nil || string(b) != "mine\n" {
			t.Fatalf("the user's file: %q %v", b, err)
		}
		for _, written := range []string{"result", "nix"} {
			if _, err := os.Lstat(filepath.Join(dir, written)); !os.IsNotExist(err) {
				t.Errorf("%s was written before the refusal: %v", written, err)
			}
		}
	}
}

// TestDerefConcurrent: four --dereference runs at once into one out-link
// all succeed, three rounds in a row, each round starting without
// result-deref (all four then find nothing there and publish at about the
// same time); the last copy wins, and a later run leaves only its own copy
// behind.
func TestDerefConcurrent(t *testing.T) {
	// A thousand files make each copy take long enough for the four runs'
	// copies to overlap, which is when publishing them raced.
	dir, flake := derefFlake(t, `/bin/mkdir -p $out/lib $out/many
echo hi > $out/lib/data
/bin/ln -s lib/data $out/data
i=0
while [ $i -lt 1000 ]; do echo $i > $out/many/f$i; i=$((i+1)); done
`)
	if r := derefBuild(t, dir, flake); r.code != 0 {
		t.Fatalf("first build: exit %d", r.code)
	}
	for round := range 3 {
		if err := os.Remove(filepath.Join(dir, "result-deref")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Go(func() { codes[i] = derefBuild(t, dir, flake).code })
		}
		wg.Wait()
		for i, c := range codes {
			if c != 0 {
				t.Errorf("round %d, run %d: exit %d", round+1, i+1, c)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, "result-deref", "data")); err != nil || string(b) != "hi\n" {
			t.Fatalf("round %d: result-deref/data: %q %v", round+1, b, err)
		}
	}
	if r := derefBuild(t, dir, flake); r.code != 0 {
		t.Fatalf("last build: exit %d", r.code)
	}
	copies, err := os.ReadDir(filepath.Join(dir, hoststore.DerefDir))
	if err != nil || len(copies) != 1 {
		t.Fatalf("copies left in %s: %v %v", hoststore.DerefDir, copies, err)
	}
}
