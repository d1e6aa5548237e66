package hoststore

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/proc"
	"github.com/nixcross/nixcross/internal/storetest"
)

func TestStoreDir(t *testing.T) {
	s := &Store{Root: "/out"}
	tests := []struct{ in, want string }{
		{"/nix/store/abc-x", "/out/nix/store/abc-x"},
		{"/nix/store/abc-x/bin/y", "/out/nix/store/abc-x/bin/y"},
		{"/nix/store/../../../etc/passwd", "/out/etc/passwd"},
		{"../../etc", "/out/etc"},
	}
	for _, tt := range tests {
		if got := s.Dir(tt.in); got != tt.want {
			t.Errorf("Dir(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStoreHas(t *testing.T) {
	s := openStore(t, t.TempDir())
	present, dangling := storetest.StorePath("present"), storetest.StorePath("dangling")
	os.Mkdir(s.Dir(present), 0o755)
	os.Symlink("/nonexistent", s.Dir(dangling))
	tests := []struct {
		path string
		want bool
	}{
		{present, true},
		{dangling, true}, // a store path may itself be a symlink
		{storetest.StorePath("absent"), false},
		{"/nix/store", false},
		{"/nix/store/../..", false},
	}
	for _, tt := range tests {
		if got := s.Has(tt.path); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	if proc.Alive(cmd.Process.Pid) {
		t.Skip("PID reused already")
	}
	return cmd.Process.Pid
}

func TestOpenStoreRemovesStaleTemporaries(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "nix", "store")
	dead, self, scope := deadPID(t), os.Getpid(), proc.Scope()
	stale := fmt.Sprintf("%s%s-%d-00000000deadbeef-0jzs0725hwrhapiz765s7h65k87qq5jm", TempPrefix, scope, dead)
	staleLink := fmt.Sprintf("%s%s-%d-00000000deadbeef-link", TempPrefix, scope, dead)
	live := fmt.Sprintf("%s%s-%d-00000000cafebabe-0jzs0725hwrhapiz765s7h65k87qq5jm", TempPrefix, scope, self)
	// Another container's runs: their PIDs mean nothing here, even one
	// that is dead here (or alive, as ours is) says nothing about theirs.
	foreignFresh := fmt.Sprintf("%sffffffff-%d-00000000cafebabe-0jzs0725hwrhapiz765s7h65k87qq5jm", TempPrefix, dead)
	foreignOld := fmt.Sprintf("%sffffffff-%d-00000000deadbeef-0jzs0725hwrhapiz765s7h65k87qq5jm", TempPrefix, self)
	unparsable := TempPrefix + "not-a-pid"
	published := filepath.Base(storetest.StorePath("published"))

	// A half-written path as a killed run leaves it: read-only files in
	// nested directories.
	storetest.WriteFile(t, filepath.Join(store, stale, "bin", "tool"), "half", 0o555)
	storetest.WriteFile(t, filepath.Join(store, stale, "share", "doc"), "half", 0o444)
	storetest.WriteFile(t, filepath.Join(store, live, "bin", "tool"), "in progress", 0o555)
	storetest.WriteFile(t, filepath.Join(store, foreignFresh, "bin", "tool"), "in progress elsewhere", 0o555)
	storetest.WriteFile(t, filepath.Join(store, foreignOld, "bin", "tool"), "abandoned elsewhere", 0o555)
	old := time.Now().Add(-foreignTempAge - time.Hour)
	if err := os.Chtimes(filepath.Join(store, foreignOld), old, old); err != nil {
		t.Fatal(err)
	}
	storetest.WriteFile(t, filepath.Join(store, unparsable), "?", 0o444)
	storetest.WriteFile(t, filepath.Join(store, published, "ok"), "ok", 0o444)
	storetest.Symlink(t, "nix/store/x", filepath.Join(root, staleLink))

	if _, err := Open(root, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{filepath.Join(store, stale), false},
		{filepath.Join(root, staleLink), false},
		{filepath.Join(store, live), true},
		{filepath.Join(store, foreignFresh), true},
		{filepath.Join(store, foreignOld), false},
		{filepath.Join(store, unparsable), true},
		{filepath.Join(store, published), true},
	} {
		_, err := os.Lstat(tt.path)
		if got := err == nil; got != tt.want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(tt.path), got, tt.want)
		}
	}
}

func TestOpenStoreCreatesStore(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "nix", "store"))
	if err != nil || !fi.IsDir() {
		t.Fatalf("nix/store not created: %v", err)
	}
	if !filepath.IsAbs(s.Root) {
		t.Errorf("Root %q is not absolute", s.Root)
	}
}
