package hoststore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/proc"
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
	present, dangling := fakePath("present"), fakePath("dangling")
	os.Mkdir(s.Dir(present), 0o755)
	os.Symlink("/nonexistent", s.Dir(dangling))
	tests := []struct {
		path string
		want bool
	}{
		{present, true},
		{dangling, true}, // a store path may itself be a symlink
		{fakePath("absent"), false},
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
	stale := fmt.Sprintf("%s%s-%d-00000000deadbeef-0jzs0725hwrhapiz765s7h65k87qq5jm", tempPrefix, scope, dead)
	staleLink := fmt.Sprintf("%s%s-%d-00000000deadbeef-link", tempPrefix, scope, dead)
	live := fmt.Sprintf("%s%s-%d-00000000cafebabe-0jzs0725hwrhapiz765s7h65k87qq5jm", tempPrefix, scope, self)
	// Another container's runs: their PIDs mean nothing here, even one
	// that is dead here (or alive, as ours is) says nothing about theirs.
	foreignFresh := fmt.Sprintf("%sffffffff-%d-00000000cafebabe-0jzs0725hwrhapiz765s7h65k87qq5jm", tempPrefix, dead)
	foreignOld := fmt.Sprintf("%sffffffff-%d-00000000deadbeef-0jzs0725hwrhapiz765s7h65k87qq5jm", tempPrefix, self)
	unparsable := tempPrefix + "not-a-pid"
	published := filepath.Base(fakePath("published"))

	// A half-written path as a killed run leaves it: read-only files in
	// nested directories.
	writeFile(t, filepath.Join(store, stale, "bin", "tool"), "half", 0o555)
	writeFile(t, filepath.Join(store, stale, "share", "doc"), "half", 0o444)
	writeFile(t, filepath.Join(store, live, "bin", "tool"), "in progress", 0o555)
	writeFile(t, filepath.Join(store, foreignFresh, "bin", "tool"), "in progress elsewhere", 0o555)
	writeFile(t, filepath.Join(store, foreignOld, "bin", "tool"), "abandoned elsewhere", 0o555)
	old := time.Now().Add(-foreignTempAge - time.Hour)
	if err := os.Chtimes(filepath.Join(store, foreignOld), old, old); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(store, unparsable), "?", 0o444)
	writeFile(t, filepath.Join(store, published, "ok"), "ok", 0o444)
	symlink(t, "nix/store/x", filepath.Join(root, staleLink))

	if _, err := OpenStore(root, nil); err != nil {
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
	s, err := OpenStore(root, nil)
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

const helperEnv = "NIXCROSS_CLOSURE_KILL_HELPER"

// TestKilledExportHelper is the child of TestExportAfterSIGKILL: it starts
// an export that stalls in the middle of a directory and waits to be
// killed.
func TestKilledExportHelper(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		t.Skip("helper process only")
	}
	src, c := testClosure(t, 3)
	src.chunk = 1 << 10
	src.block = int(c[0].NarSize + c[1].NarSize/2)
	s := openStore(t, root)
	s.Export(context.Background(), src, c, ExportOptions{})
	t.Fatal("export returned; it should have been killed")
}

func TestExportAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledExportHelper$")
	// The child's own temporary directories go under ours: killed, it
	// cannot remove them itself.
	cmd.Env = append(os.Environ(), helperEnv+"="+root, "TMPDIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	src, c := testClosure(t, 3) // the same closure the child exports
	s := &Store{Root: root}
	prefix := fmt.Sprintf("%s%s-%d-", tempPrefix, proc.Scope(), cmd.Process.Pid)
	deadline := time.Now().Add(30 * time.Second)
	var temp string
	for temp == "" {
		if time.Now().After(deadline) {
			t.Fatal("the child never got to the middle of the second path")
		}
		time.Sleep(5 * time.Millisecond)
		if !s.Has(c[0].Path) {
			continue
		}
		entries, _ := os.ReadDir(filepath.Join(root, "nix", "store"))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				temp = e.Name()
			}
		}
	}
	// Give the child time to write part of the path, then kill it hard.
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Lstat(filepath.Join(root, "nix", "store", temp)); err != nil {
		t.Fatalf("the killed child's temporary is gone already: %v", err)
	}
	if s.Has(c[1].Path) {
		t.Fatal("a half-copied path carries its final name")
	}

	s, err := OpenStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Export(context.Background(), src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || st.Paths != 2 {
		t.Errorf("rerun stats %+v, want the first path skipped and two copied", st)
	}
	for _, p := range c {
		if got := dumpNAR(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
			t.Errorf("%s does not verify", p.Path)
		}
	}
	for _, name := range listStore(t, s) {
		if strings.HasPrefix(name, tempPrefix) {
			t.Errorf("stray temporary %s", name)
		}
	}
}
