package flake

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// layout makes the directories the testdata locks name under root: the
// flake's repository, git repositories and plain directories beside it.
func layout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, repo := range []string{"repo", "app", "lib", "other"} {
		gitInit(t, filepath.Join(root, repo))
	}
	for _, dir := range []string{"repo/sub", "lib/nix", "lib/data", "util", "util2", "shared", "extra"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "repo", "flake.nix"), "{ outputs = _: { }; }")
	writeFile(t, filepath.Join(root, "other", "flake.nix"), "{ outputs = _: { }; }")
	copyTestdata(t, "override-lib.lock", filepath.Join(root, "other", "flake.lock"), root)
	return root
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init %s: %v\n%s", dir, err, out)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTestdata writes testdata/name to dest with @ROOT@ replaced by root.
func copyTestdata(t *testing.T, name, dest, root string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dest, strings.ReplaceAll(string(b), "@ROOT@", root))
}

func TestInputs(t *testing.T) {
	tests := []struct {
		name      string
		lock      string // testdata lock placed as repo/flake.lock; "" for none
		flakeNix  string // testdata flake.nix; "" keeps the minimal one
		overrides [][2]string
		want      []Input // @ROOT@ stands for the layout's root
		wantErr   []string
	}{
		{
			name: "nested flakes and follows, non-local left alone",
			lock: "nested.lock",
			want: []Input{
				{Name: "app", Path: "@ROOT@/app", Top: "@ROOT@/app", Git: true},
				{Name: "lib", Path: "@ROOT@/lib", Top: "@ROOT@/lib", Git: true},
				{Name: "app/util", Path: "@ROOT@/util", Top: "@ROOT@/util"},
			},
		},
		{
			name: "relative paths: inside the repository or an input need nothing",
			lock: "relative.lock",
			want: []Input{
				{Name: "lib/extra", Path: "@ROOT@/extra", Top: "@ROOT@/extra"},
				{Name: "lib", Path: "@ROOT@/lib", Top: "@ROOT@/lib"},
				{Name: "shared", Path: "@ROOT@/shared", Top: "@ROOT@/shared"},
			},
		},
		{
			name: "only network inputs",
			lock: "remote.lock",
		},
		{
			name:    "missing input path",
			lock:    "missing.lock",
			wantErr: []string{"input lib", "@ROOT@/gone"},
		},
		{
			name:      "override replaces the locked input and reads its own lock",
			lock:      "nested.lock",
			overrides: [][2]string{{"lib", "@ROOT@/other"}},
			want: []Input{
				{Name: "app", Path: "@ROOT@/app", Top: "@ROOT@/app", Git: true},
				{Name: "--override-input lib", Path: "@ROOT@/other", Top: "@ROOT@/other", Git: true},
				{Name: "app/util", Path: "@ROOT@/util", Top: "@ROOT@/util"},
				{Name: "lib/util", Path: "@ROOT@/util2", Top: "@ROOT@/util2"},
			},
		},
		{
			name:      "override with a network reference drops the local input",
			lock:      "nested.lock",
			overrides: [][2]string{{"lib", "github:org/lib"}},
			want: []Input{
				{Name: "app", Path: "@ROOT@/app", Top: "@ROOT@/app", Git: true},
				{Name: "app/util", Path: "@ROOT@/util", Top: "@ROOT@/util"},
			},
		},
		{
			name:      "override of an input the lock lacks, and of a missing one",
			lock:      "missing.lock",
			overrides: [][2]string{{"lib", "path:@ROOT@/util2"}, {"extra", "git+file://@ROOT@/app"}},
			want: []Input{
				{Name: "--override-input extra", Path: "@ROOT@/app", Top: "@ROOT@/app", Git: true},
				{Name: "--override-input lib", Path: "@ROOT@/util2", Top: "@ROOT@/util2"},
			},
		},
		{
			name:      "override path that does not exist",
			lock:      "remote.lock",
			overrides: [][2]string{{"nixpkgs", "@ROOT@/nixpkgs"}},
			wantErr:   []string{"input --override-input nixpkgs", "@ROOT@/nixpkgs"},
		},
		{
			name:     "no lock: flake.nix URLs, comments and network ones skipped",
			flakeNix: "unpinned.nix",
			want: []Input{
				{Name: "lib", Path: "@ROOT@/lib", Top: "@ROOT@/lib", Git: true},
				{Name: "path:../shared", Path: "@ROOT@/shared", Top: "@ROOT@/shared"}, // NAME = { url = …; } has no name before url
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := layout(t)
			repo := filepath.Join(root, "repo")
			if tt.lock != "" {
				copyTestdata(t, tt.lock, filepath.Join(repo, "flake.lock"), root)
			}
			if tt.flakeNix != "" {
				copyTestdata(t, tt.flakeNix, filepath.Join(repo, "flake.nix"), root)
			}
			var overrides []Override
			for _, o := range tt.overrides {
				ov, err := ParseOverride(o[0], strings.ReplaceAll(o[1], "@ROOT@", root), repo, "")
				if err != nil {
					t.Fatal(err)
				}
				overrides = append(overrides, ov)
			}
			got, err := Inputs(repo, repo, overrides)
			if tt.wantErr != nil {
				var se *status.Error
				if !errors.As(err, &se) || se.Kind != status.KindUsage {
					t.Fatalf("err = %v, want a usage error", err)
				}
				for _, w := range tt.wantErr {
					if w = strings.ReplaceAll(w, "@ROOT@", root); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []Input
			for _, in := range tt.want {
				in.Path = strings.ReplaceAll(in.Path, "@ROOT@", root)
				in.Top = strings.ReplaceAll(in.Top, "@ROOT@", root)
				want = append(want, in)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Inputs =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestInputsGitSubdirectoryMakesTheTopVisible(t *testing.T) {
	root := t.TempDir()
	gitInit(t, filepath.Join(root, "mono"))
	flakeDir := filepath.Join(root, "app")
	if err := os.MkdirAll(flakeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "mono", "pkgs", "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	ov, err := ParseOverride("lib", "../mono/pkgs/lib", flakeDir, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Inputs(flakeDir, flakeDir, []Override{ov})
	if err != nil {
		t.Fatal(err)
	}
	want := []Input{{Name: "--override-input lib", Path: filepath.Join(root, "mono", "pkgs", "lib"), Top: filepath.Join(root, "mono"), Git: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Inputs = %+v, want %+v", got, want)
	}
}

func TestParseOverride(t *testing.T) {
	const cwd, home = "/work/app", "/home/me"
	tests := []struct {
		name, ref string
		wantRef   string
		wantPath  string // "" for a network reference
		wantErr   bool
	}{
		{name: "nixpkgs", ref: "~/src/nixpkgs", wantRef: "/home/me/src/nixpkgs", wantPath: "/home/me/src/nixpkgs"},
		{name: "lib", ref: "../lib", wantRef: "/work/lib", wantPath: "/work/lib"},
		{name: "lib", ref: "path:./vendor/lib?dir=nix", wantRef: "path:/work/app/vendor/lib?dir=nix", wantPath: "/work/app/vendor/lib"},
		{name: "lib", ref: "git+file:../lib?ref=main", wantRef: "git+file:///work/lib?ref=main", wantPath: "/work/lib"},
		{name: "lib", ref: "git+file:///srv/lib", wantRef: "git+file:///srv/lib", wantPath: "/srv/lib"},
		{name: "lib/nixpkgs", ref: "github:NixOS/nixpkgs/nixos-24.05", wantRef: "github:NixOS/nixpkgs/nixos-24.05"},
		{name: "nixpkgs", ref: "nixpkgs", wantRef: "nixpkgs"},
		{name: "lib", ref: "git+ssh://git@example.org/org/lib", wantRef: "git+ssh://git@example.org/org/lib"},
		{name: "lib", ref: "~other/lib", wantErr: true},
		{name: "", ref: "/x", wantErr: true},
		{name: "lib/", ref: "/x", wantErr: true},
		{name: "lib", ref: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.ref, func(t *testing.T) {
			o, err := ParseOverride(tt.name, tt.ref, cwd, home)
			if tt.wantErr {
				var se *status.Error
				if !errors.As(err, &se) || se.Kind != status.KindUsage {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Ref != tt.wantRef {
				t.Errorf("Ref = %q, want %q", o.Ref, tt.wantRef)
			}
			path := ""
			if o.local {
				path = o.loc.Path
			}
			if path != tt.wantPath {
				t.Errorf("local path = %q, want %q", path, tt.wantPath)
			}
		})
	}
}

func TestParseLock(t *testing.T) {
	tests := []struct {
		name, doc string
		wantErr   bool
	}{
		{name: "follows and names", doc: `{"version":7,"root":"root","nodes":{"root":{"inputs":{"a":"a","b":["a"],"c":[]}},"a":{"locked":{"type":"github"}}}}`},
		{name: "version 8", doc: `{"version":8,"root":"root","nodes":{"root":{}}}`, wantErr: true},
		{name: "no root", doc: `{"version":7,"root":"top","nodes":{"root":{}}}`, wantErr: true},
		{name: "input of another shape", doc: `{"version":7,"root":"root","nodes":{"root":{"inputs":{"a":1}}}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLock([]byte(tt.doc))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			in := l.Nodes["root"].Inputs
			if in["a"].Node != "a" || !reflect.DeepEqual(in["b"].Follows, []string{"a"}) || in["c"].Follows == nil || in["c"].Node != "" {
				t.Errorf("inputs = %+v", in)
			}
			if got := l.resolve([]string{"b"}); got != "a" {
				t.Errorf("resolve(b) = %q, want a", got)
			}
		})
	}
}
