package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/status"
)

func TestExportOptions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	o := buildOptions{jobs: 1, outLink: "r", source: "auto", export: exportOptions{idleTimeout: 90 * time.Second, checkExisting: true}}
	req, _, err := parseBuildRequest(o, dir, nil)
	if err != nil || req.ExportIdleTimeout != 90*time.Second || !req.CheckExisting {
		t.Fatalf("request %+v, %v; want the timeout and the check carried", req, err)
	}
	o.export = exportOptions{idleTimeout: -time.Second}
	if _, _, err := parseBuildRequest(o, dir, nil); status.ExitCode(err) != status.ExitUsage || !strings.Contains(err.Error(), "--export-idle-timeout cannot be negative") {
		t.Fatalf("negative timeout: %v", err)
	}
	// The flag's default reaches the request; a malformed duration is exit 2.
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock", "DOCKER_CONFIG": t.TempDir()}
	if code, _, stderr := runCLI(t, env, "build", dir, "--export-idle-timeout", "soon"); code != 2 || !strings.Contains(stderr, "--export-idle-timeout") {
		t.Fatalf("--export-idle-timeout soon: exit %d, %q", code, stderr)
	}
	f := newBuildCommand(&app{}).Flags().Lookup("export-idle-timeout")
	if f == nil || f.DefValue != defaultExportIdleTimeout.String() {
		t.Fatalf("--export-idle-timeout default %v, want %s", f, defaultExportIdleTimeout)
	}
}
