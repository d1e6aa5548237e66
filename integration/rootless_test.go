//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// TestRootless (issue 24), on a rootless Docker daemon only (make
// integration-rootless runs the suite's core there): an aarch64 build
// runs under QEMU that nixcross registered in the daemon's own user
// namespace (Linux 6.7+), not the host's handlers, and doctor says builds
// can run.
func TestRootless(t *testing.T) {
	info, err := docker.Info(context.Background(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rootless := false
	for _, o := range info.Info.SecurityOptions {
		rootless = rootless || strings.Contains(o, "rootless")
	}
	if !rootless {
		t.Skip("the daemon is not rootless (make integration-rootless runs this)")
	}
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("aarch64 on rootless Docker: exit %d", r.code)
	}
	var doc struct {
		Builds []struct {
			Emulator string `json:"emulator"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 1 || doc.Builds[0].Emulator != "nixcross" {
		t.Errorf("emulator: %+v (%v), want QEMU nixcross registered itself", doc.Builds, err)
	}
	arch, err := os.ReadFile(filepath.Join(dir, "result", "share", "arch"))
	if err != nil || !strings.Contains(string(arch), "machine=aarch64") {
		t.Errorf("result/share/arch: %q %v", arch, err)
	}
	d := nixcross(t, workdir(t), nil, "doctor")
	if d.code != 0 || !strings.Contains(d.stdout, "rootless") || !strings.Contains(d.stdout, "ok: builds can run") {
		t.Errorf("doctor on rootless: exit %d\n%s", d.code, d.stdout)
	}
}
