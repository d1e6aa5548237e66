package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates files (relative path -> content) under dir; a content
// starting with "->" makes a symlink to the rest, a path ending in "*" an
// executable file.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode is filtered by the umask.
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// gitRepo makes a repository with tracked files (added to the index, as
// `git add` does: Nix sees those without a commit), plus files git must
// not report.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	writeTree(t, dir, map[string]string{
		"flake.nix":            "{ }",
		"build.sh*":            "#!/bin/sh\n",
		"lib/deep/default.nix": "1",
		"link-to-flake":        "->flake.nix",
		".gitignore":           "ignored.txt\nresult\n",
		"deleted-later.txt":    "gone",
		"sub/flake/flake.nix":  "{ }",
		"sub/x.nix":            "2",
		"vendor/mod/README":    "a submodule's file",
	})
	git(t, dir, "add", "flake.nix", "build.sh", "lib", "link-to-flake", ".gitignore", "deleted-later.txt", "sub")
	// A gitlink, as `git submodule add` records it, without needing a
	// second repository.
	git(t, dir, "update-index", "--add", "--cacheinfo", "160000,0123456789abcdef0123456789abcdef01234567,vendor/mod")
	writeTree(t, dir, map[string]string{
		"ignored.txt":   "ignored",
		"untracked.txt": "untracked",
		"result":        "->/nix/store/x",
	})
	if err := os.Remove(filepath.Join(dir, "deleted-later.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSourceFilesGit(t *testing.T) {
	repo := gitRepo(t)
	want := []string{".gitignore", "build.sh", "flake.nix", "lib/deep/default.nix", "link-to-flake", "sub/flake/flake.nix", "sub/x.nix"}
	cases := []struct {
		name, dir string
	}{
		{"flake at the top", repo},
		// A flake in a subdirectory still gets the whole repository, as
		// Nix copies the whole git tree.
		{"flake in a subdirectory", filepath.Join(repo, "sub", "flake")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := ResolveFlake(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !src.InGit {
				t.Fatalf("ResolveFlake(%s) did not find the repository", c.dir)
			}
			got, err := sourceFiles(src)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("sourceFiles = %q\nwant          %q", got, want)
			}
		})
	}
}

func TestSourceFilesOutsideGit(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"flake.nix":        "{ }",
		"run.sh*":          "#!/bin/sh\n",
		"lib/a.nix":        "1",
		"link":             "->lib/a.nix",
		"untracked.txt":    "everything goes outside git",
		"nested/.git/HEAD": "ref: refs/heads/main",
		"nested/file":      "x",
	})
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := ResolveFlake(dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.InGit {
		t.Skipf("%s is inside a git repository", dir)
	}
	got, err := sourceFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"empty", "flake.nix", "lib", "lib/a.nix", "link", "nested", "nested/file", "run.sh", "untracked.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("sourceFiles = %q\nwant          %q", got, want)
	}
}

type tarEntry struct {
	typ      byte
	mode     int64
	linkname string
	content  string
}

func TestWriteSourceTar(t *testing.T) {
	repo := gitRepo(t)
	src, err := ResolveFlake(repo)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sourceFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var progress []int64
	if err := writeSourceTar(&buf, src.Top, files, func(n int64) { progress = append(progress, n) }); err != nil {
		t.Fatal(err)
	}

	tr := tar.NewReader(&buf)
	got := map[string]tarEntry{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = tarEntry{typ: h.Typeflag, mode: h.Mode, linkname: h.Linkname, content: string(b)}
		order = append(order, h.Name)
	}
	want := map[string]tarEntry{
		".gitignore":           {tar.TypeReg, 0o644, "", "ignored.txt\nresult\n"},
		"build.sh":             {tar.TypeReg, 0o755, "", "#!/bin/sh\n"},
		"flake.nix":            {tar.TypeReg, 0o644, "", "{ }"},
		"lib/":                 {tar.TypeDir, 0o755, "", ""},
		"lib/deep/":            {tar.TypeDir, 0o755, "", ""},
		"lib/deep/default.nix": {tar.TypeReg, 0o644, "", "1"},
		"link-to-flake":        {tar.TypeSymlink, 0o777, "flake.nix", ""},
		"sub/":                 {tar.TypeDir, 0o755, "", ""},
		"sub/flake/":           {tar.TypeDir, 0o755, "", ""},
		"sub/flake/flake.nix":  {tar.TypeReg, 0o644, "", "{ }"},
		"sub/x.nix":            {tar.TypeReg, 0o644, "", "2"},
	}
	if len(got) != len(want) {
		t.Errorf("archive holds %q, want %d entries", order, len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the archive", name)
			continue
		}
		if g != w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	// Each entry's directory comes before it, so extraction never
	// invents a directory with the daemon's default mode.
	for i, name := range order {
		parent := filepath.ToSlash(filepath.Dir(strings.TrimSuffix(name, "/")))
		if parent != "." && !slices.Contains(order[:i], parent+"/") {
			t.Errorf("%s comes before its directory %s/", name, parent)
		}
	}
	var total int64
	for _, e := range want {
		total += int64(len(e.content))
	}
	if len(progress) == 0 || progress[len(progress)-1] != total {
		t.Errorf("progress reports %v, want ending at %d content bytes", progress, total)
	}
}

// TestWriteSourceTarVanished: a file deleted between listing and sending
// fails the copy with its name instead of sending a short archive.
func TestWriteSourceTarVanished(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"flake.nix": "{ }"})
	err := writeSourceTar(io.Discard, dir, []string{"flake.nix", "gone.nix"}, nil)
	if err == nil || !strings.Contains(err.Error(), "gone.nix") {
		t.Fatalf("err = %v, want one naming gone.nix", err)
	}
}
