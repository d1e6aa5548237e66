//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportIdleTimeout: with a nix-store whose --dump neither sends nor
// ends (images/hung-dump), the export gives up after
// --export-idle-timeout with exit 3, naming the path and the interval,
// and publishes nothing.
func TestExportIdleTimeout(t *testing.T) {
	tag := "nixcross-it-hung-dump:latest"
	derivedBuilder(t, tag, "hung-dump")

	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#greeting", "--image", tag, "--export-idle-timeout", "3s"}, offline...)...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3", r.code)
	}
	if !strings.Contains(r.stderr, "-greeting: the container sent nothing for 3s") || !strings.Contains(r.stderr, "--export-idle-timeout") {
		t.Errorf("stderr does not name the path, the interval and the flag:\n%s", r.stderr)
	}
	// The build itself takes seconds; the export must not hang for long.
	if r.took > 2*time.Minute {
		t.Errorf("the run took %s", r.took)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "nix", "store"))
	if len(entries) != 0 {
		t.Errorf("the output store holds %v after the timeout, want nothing", entries)
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); err == nil {
		t.Error("result was linked after a failed export")
	}
}
