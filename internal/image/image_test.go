package image

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/storetest"
	"github.com/nixcross/nixcross/internal/system"
)

// store writes a small closure under root as the host export holds it:
// hello (a program, a link to its greeting) needs greeting.
func store(t *testing.T, root string, fileMode os.FileMode, mtime time.Time) (closure.Closure, string) {
	t.Helper()
	hello, greeting := storetest.StorePath("hello"), storetest.StorePath("greeting")
	write := func(rel string, data string, mode os.FileMode) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	write(hello+"/bin/hello", "\x7fELF program", fileMode|0o111)
	write(hello+"/share/doc/README", "read me", fileMode)
	write(greeting+"/greeting", "hello from x86_64-linux", fileMode)
	if err := os.Symlink(greeting, filepath.Join(root, hello, "share", "greeting")); err != nil {
		t.Fatal(err)
	}
	c := closure.Closure{
		{Path: hello, References: []string{greeting}},
		{Path: greeting},
	}
	return c, hello
}

func spec(root string, c closure.Closure, out string) Spec {
	return Spec{
		Closure:    c,
		Dir:        func(p string) string { return filepath.Join(root, p) },
		Platform:   system.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		Entrypoint: out + "/bin/hello",
		Output:     out,
		Created:    time.Unix(1700000000, 0),
	}
}

// The same closure exported twice, by different umasks at different
// times, gives the same image digest.
func TestBuildDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ca, out := store(t, a, 0o644, time.Unix(1, 0))
	cb, _ := store(t, b, 0o600, time.Now())
	imgA, err := Build(spec(a, ca, out))
	if err != nil {
		t.Fatal(err)
	}
	imgB, err := Build(spec(b, cb, out))
	if err != nil {
		t.Fatal(err)
	}
	// The library's own check: every digest and size matches the bytes
	// streamed (layers are written again, not kept).
	if err := validate.Image(imgA); err != nil {
		t.Fatalf("the image does not hold together: %v", err)
	}
	da, _ := imgA.Digest()
	db, _ := imgB.Digest()
	if da != db {
		t.Errorf("same closure, different digests: %s and %s", da, db)
	}
	cfg, err := imgA.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" || cfg.Variant != "v8" || cfg.OS != "linux" {
		t.Errorf("platform %s/%s/%s, want linux/arm64/v8", cfg.OS, cfg.Architecture, cfg.Variant)
	}
	if !cfg.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("created %s, want the flake's lastModified", cfg.Created)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{out + "/bin/hello"}) || !slices.Equal(cfg.Config.Env, []string{"PATH=" + out + "/bin"}) {
		t.Errorf("entrypoint %q env %q", cfg.Config.Entrypoint, cfg.Config.Env)
	}

	// Another output sharing greeting shares its layer.
	s := spec(a, ca[1:], ca[1].Path)
	other, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	la, _ := imgA.Layers()
	lo, _ := other.Layers()
	// Layer 1 of both is greeting's (most popular first).
	d1, _ := la[1].Digest()
	d2, _ := lo[1].Digest()
	if d1 != d2 {
		t.Errorf("greeting's layer differs between images: %s and %s", d1, d2)
	}
}

// A layer's entries: sorted, root's, dated epoch, Nix's modes, links kept.
func TestLayerEntries(t *testing.T) {
	root := t.TempDir()
	c, out := store(t, root, 0o664, time.Now())
	img, err := Build(spec(root, c, out))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if len(layers) != 3 {
		t.Fatalf("%d layers, want 3 (root, greeting, hello)", len(layers))
	}
	rc, err := layers[2].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: uid %d gid %d mtime %s", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		got = append(got, fmt.Sprintf("%s %o %s", h.Name, h.Mode, h.Linkname))
	}
	want := []string{
		"nix/ 755 ", "nix/store/ 755 ",
		out[1:] + "/ 555 ",
		out[1:] + "/bin/ 555 ",
		out[1:] + "/bin/hello 555 ",
		out[1:] + "/share/ 555 ",
		out[1:] + "/share/doc/ 555 ",
		out[1:] + "/share/doc/README 444 ",
		out[1:] + "/share/greeting 777 " + c[1].Path,
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%q\nwant\n%q", got, want)
	}
}

func TestLayersCapAndGrouping(t *testing.T) {
	// A chain: p000 needs p001 needs … p149; p149 is needed by all.
	var c closure.Closure
	for i := range 150 {
		info := closure.PathInfo{Path: storetest.StorePath(fmt.Sprintf("p%03d", i))}
		if i < 149 {
			info.References = []string{storetest.StorePath(fmt.Sprintf("p%03d", i+1))}
		}
		c = append(c, info)
	}
	groups := Layers(c, 100)
	if len(groups) != 99 {
		t.Fatalf("%d store path layers, want 99 (and the root layer: 100)", len(groups))
	}
	for i, g := range groups[:98] {
		want := storetest.StorePath(fmt.Sprintf("p%03d", 149-i))
		if len(g) != 1 || g[0] != want {
			t.Fatalf("layer %d holds %v, want only %s (the most needed first)", i, g, want)
		}
	}
	last := groups[98]
	if len(last) != 52 || !slices.IsSorted(last) || !slices.Contains(last, storetest.StorePath("p000")) {
		t.Errorf("last layer holds %d paths (sorted %v), want the 52 least needed, the output among them", len(last), slices.IsSorted(last))
	}
	// Under the cap, one layer each.
	if groups := Layers(c[140:], 100); len(groups) != 10 {
		t.Errorf("10 paths make %d layers, want 10", len(groups))
	}
}

func TestEntrypoint(t *testing.T) {
	root := t.TempDir()
	store := func(p string) string { return filepath.Join(root, p) }
	out := storetest.StorePath("tools")
	dir := store(out)
	mk := func(name string, mode os.FileMode) {
		os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "bin", name), nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Entrypoint(out, store, "", ""); status.KindOf(err) != status.KindUsage {
		t.Errorf("no bin/: %v, want a usage error", err)
	}
	mk("tool", 0o755)
	mk("README", 0o644)
	if got, err := Entrypoint(out, store, "", ""); err != nil || got != out+"/bin/tool" {
		t.Errorf("one program: %q, %v", got, err)
	}
	mk("other", 0o755)
	if _, err := Entrypoint(out, store, "", ""); status.KindOf(err) != status.KindUsage {
		t.Errorf("two programs: %v, want a usage error asking for --entrypoint", err)
	}
	if got, err := Entrypoint(out, store, "other", ""); err != nil || got != out+"/bin/other" {
		t.Errorf("mainProgram: %q, %v", got, err)
	}
	if _, err := Entrypoint(out, store, "gone", ""); status.KindOf(err) != status.KindUsage {
		t.Errorf("a mainProgram bin/ lacks: %v, want a usage error", err)
	}
	if got, err := Entrypoint(out, store, "other", "bin/tool"); err != nil || got != out+"/bin/tool" {
		t.Errorf("--entrypoint over mainProgram: %q, %v", got, err)
	}
	for _, bad := range []string{"bin/missing", "../x", "/bin/sh"} {
		if _, err := Entrypoint(out, store, "", bad); status.KindOf(err) != status.KindUsage {
			t.Errorf("--entrypoint %s: %v, want a usage error", bad, err)
		}
	}

	// A bin/ that links to another store path's, as the image resolves it.
	env := storetest.StorePath("env")
	os.MkdirAll(store(env), 0o755)
	if err := os.Symlink(out+"/bin", filepath.Join(store(env), "bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := Entrypoint(env, store, "", ""); status.KindOf(err) != status.KindUsage || !strings.Contains(err.Error(), "2 executables") {
		t.Errorf("a linked bin/ with two programs: %v, want them counted", err)
	}
	if got, err := Entrypoint(env, store, "", "bin/tool"); err != nil || got != env+"/bin/tool" {
		t.Errorf("--entrypoint through a linked bin/: %q, %v", got, err)
	}
}
