package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testStamp = Stamp{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Date: time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)}

func TestArchiveName(t *testing.T) {
	for _, c := range []struct {
		version string
		target  Target
		want    string
	}{
		{"v1.2.3", Target{"linux", "amd64"}, "nixcross_1.2.3_linux_amd64.tar.gz"},
		{"v1.2.3", Target{"darwin", "arm64"}, "nixcross_1.2.3_darwin_arm64.tar.gz"},
		{"v1.2.3", Target{"windows", "amd64"}, "nixcross_1.2.3_windows_amd64.zip"},
		{"v0.0.0-SNAPSHOT-abc1234", Target{"linux", "arm64"}, "nixcross_0.0.0-SNAPSHOT-abc1234_linux_arm64.tar.gz"},
	} {
		if got := ArchiveName(c.version, c.target); got != c.want {
			t.Errorf("ArchiveName(%s, %s) = %s, want %s", c.version, c.target, got, c.want)
		}
	}
}

func TestLDFlags(t *testing.T) {
	want := "-s -w -X github.com/nixcross/nixcross/internal/cli.Version=v1.2.3" +
		" -X github.com/nixcross/nixcross/internal/cli.Commit=0123456789abcdef0123456789abcdef01234567" +
		" -X github.com/nixcross/nixcross/internal/cli.Date=2026-11-28T18:00:00Z"
	if got := testStamp.LDFlags(); got != want {
		t.Errorf("LDFlags:\n got %s\nwant %s", got, want)
	}
}

// TestArchivesRoundTrip: both formats keep names, contents and the
// executable bit, and packing twice gives the same bytes.
func TestArchivesRoundTrip(t *testing.T) {
	files := []File{{Name: "nixcross", Mode: 0o755, Data: []byte("\x7fELF binary")}, {Name: "man/man1/nixcross.1", Mode: 0o644, Data: []byte(".TH NIXCROSS")}}
	for _, name := range []string{"a.tar.gz", "a.zip"} {
		dir := t.TempDir()
		var first []byte
		for i := range 2 {
			path := filepath.Join(dir, name)
			if err := writeArchive(path, files, testStamp.Date); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			if i == 0 {
				first = data
			} else if !bytes.Equal(first, data) {
				t.Errorf("%s: packing twice gave different bytes", name)
			}
		}
		got := unpack(t, name, first)
		for _, f := range files {
			g, ok := got[f.Name]
			if !ok || !bytes.Equal(g.Data, f.Data) || g.Mode.Perm() != f.Mode {
				t.Errorf("%s: %s came back as %+v", name, f.Name, g)
			}
		}
	}
}

func unpack(t *testing.T, name string, data []byte) map[string]File {
	t.Helper()
	out := map[string]File{}
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			out[f.Name] = File{Name: f.Name, Mode: f.Mode(), Data: b}
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = File{Name: h.Name, Mode: os.FileMode(h.Mode), Data: b}
	}
}

func TestChecksumsSortedByName(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"nixcross_1_windows_amd64.zip", "nixcross_1_darwin_amd64.tar.gz"} {
		p := filepath.Join(dir, n)
		os.WriteFile(p, []byte(n), 0o644)
		paths = append(paths, p)
	}
	if err := writeChecksums(filepath.Join(dir, ChecksumsFile), paths); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, ChecksumsFile))
	// What `printf %s <name> | sha256sum` prints, in name order.
	want := "87592f7f26cef53810c4bf9e7a27431c96d97f58eb064ec8f18331f2e57b1627  nixcross_1_darwin_amd64.tar.gz\n" +
		"7609289b1e687f2725ea069135d5bbb1d599af3849cf2aca2387ed50a833f8c4  nixcross_1_windows_amd64.zip\n"
	if string(got) != want {
		t.Fatalf("checksums.txt:\n%s\nwant:\n%s", got, want)
	}
}

// TestDocs: the man pages and completions come from the real command tree.
func TestDocs(t *testing.T) {
	files, err := Docs(testStamp)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, f := range files {
		byName[f.Name] = string(f.Data)
	}
	for name, want := range map[string]string{
		"completions/nixcross.bash":  "__start_nixcross",
		"completions/_nixcross":      "#compdef nixcross",
		"completions/nixcross.fish":  "complete -c nixcross",
		"completions/nixcross.ps1":   "Register-ArgumentCompleter",
		"man/man1/nixcross.1":        `.TH "NIXCROSS" "1" "Nov 2026" "nixcross v1.2.3"`,
		"man/man1/nixcross-build.1":  "--system",
		"man/man1/nixcross-doctor.1": "nixcross-doctor",
	} {
		if !strings.Contains(byName[name], want) {
			t.Errorf("%s does not contain %q:\n%.300s", name, want, byName[name])
		}
	}
}
