//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/fixture"
)

// TestActionEmptySystem: the action's build step refuses a system input
// with an empty name between commas (an unset matrix variable) with exit
// 2 before running nixcross, while whitespace and a final newline only
// separate.
func TestActionEmptySystem(t *testing.T) {
	root := fixture.RepoRoot()
	// A nixcross that records that it ran: it must not, for a refused input.
	ran := filepath.Join(t.TempDir(), "ran")
	bin := filepath.Join(t.TempDir(), "nixcross")
	os.WriteFile(bin, []byte("#!/bin/sh\necho \"$*\" >>"+ran+"\necho '{\"builds\":[]}'\n"), 0o755)
	for _, v := range []string{",", "aarch64-linux,", ",aarch64-linux", "aarch64-linux,,x86_64-linux", "aarch64-linux, ,x86_64-linux", " ", ""} {
		run := script(t, filepath.Join(root, ".github", "action", "run.sh"), t.TempDir(), "NIXCROSS_BIN="+bin, "INPUT_SYSTEM="+v)
		if run.code != 2 || !strings.Contains(run.stderr, "input 'system'") {
			t.Errorf("system %q: exit %d\n%s", v, run.code, run.stderr)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		data, _ := os.ReadFile(ran)
		t.Fatalf("nixcross ran for a refused system input: %s", data)
	}
	run := script(t, filepath.Join(root, ".github", "action", "run.sh"), t.TempDir(), "NIXCROSS_BIN="+bin, "INPUT_SYSTEM=aarch64-linux\nx86_64-linux\n")
	if data, _ := os.ReadFile(ran); run.code != 0 || !strings.Contains(string(data), "--system aarch64-linux,x86_64-linux") {
		t.Fatalf("newline-separated systems: exit %d, ran %q\n%s", run.code, data, run.stderr)
	}
}
