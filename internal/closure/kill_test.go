package closure

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

	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/proc"
	"github.com/nixcross/nixcross/internal/storetest"
)

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
	Export(context.Background(), s, src, c, ExportOptions{})
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
	s := &hoststore.Store{Root: root}
	prefix := fmt.Sprintf("%s%s-%d-", hoststore.TempPrefix, proc.Scope(), cmd.Process.Pid)
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

	s, err := hoststore.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Export(context.Background(), s, src, c, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || st.Paths != 2 {
		t.Errorf("rerun stats %+v, want the first path skipped and two copied", st)
	}
	for _, p := range c {
		if got := storetest.Dump(t, s.Dir(p.Path)); sriHash(got) != p.NarHash {
			t.Errorf("%s does not verify", p.Path)
		}
	}
	for _, name := range listStore(t, s) {
		if strings.HasPrefix(name, hoststore.TempPrefix) {
			t.Errorf("stray temporary %s", name)
		}
	}
}
