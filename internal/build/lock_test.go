package build

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/ui"
)

// TestLockChangeNoticedAcrossWrites: the build's log arrives in arbitrary
// pieces; the log writer joins them into lines for the watch.
func TestLockChangeNoticedAcrossWrites(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   bool
	}{
		{"one write", []string{"warning: not writing modified lock file of flake 'path:/x':\n"}, true},
		{"split mid-phrase", []string{"warning: not writing modi", "fied lock ", "file of flake 'path:/x'"}, true},
		{"other warnings", []string{"warning: Git tree '/x' is dirty\n", "warning: not writing\n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w logWatch
			logw := ui.New(io.Discard, ui.Options{}).Lines("", true)
			logw.OnLine = func(l string) { w.see(l) }
			for _, p := range tt.pieces {
				if n, err := logw.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			logw.Flush()
			if w.lockChanged != tt.want {
				t.Errorf("seen = %v, want %v", w.lockChanged, tt.want)
			}
		})
	}
}

func TestMetadataLockIsWrittenAsNixWritesIt(t *testing.T) {
	lock, err := metadataLock([]byte(`{"description":"x","locks":{"version":7,"root":"root","nodes":{"root":{"inputs":{"lib":"lib"}},"lib":{"locked":{"type":"path","path":"/a&b","narHash":"sha256-x"}}}},"path":"/nix/store/x"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "nodes": {
    "lib": {
      "locked": {
        "narHash": "sha256-x",
        "path": "/a&b",
        "type": "path"
      }
    },
    "root": {
      "inputs": {
        "lib": "lib"
      }
    }
  },
  "root": "root",
  "version": 7
}
`
	if string(lock) != want {
		t.Errorf("lock =\n%s\nwant\n%s", lock, want)
	}
	if _, err := metadataLock([]byte(`{"description":"no locks"}`)); err == nil || !strings.Contains(err.Error(), "no lock") {
		t.Errorf("err = %v, want one saying there is no lock", err)
	}
}

func TestWriteLockKeepsModeAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flake.lock")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeLock(p, []byte("new\n"), nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if err != nil || string(b) != "new\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("flake.lock = %q (%v), mode %v", b, err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only flake.lock", len(entries))
	}
}
