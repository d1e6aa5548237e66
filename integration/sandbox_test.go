//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandbox: under --sandbox, derivations that read the container's
// /etc/passwd or reach the network fail, and build without it; one that
// only uses its inputs builds sandboxed natively and under QEMU, and says
// so. Every build uses a throwaway store (--no-cache), so nothing is
// reused from an earlier build.
func TestSandbox(t *testing.T) {
	for _, attr := range []string{"passwd", "network"} {
		t.Run(attr, func(t *testing.T) {
			args := append([]string{"build", fixtureDir + "#" + attr, "--system", "x86_64-linux", "--no-cache", "--json"}, offline...)
			if r := nixcross(t, workdir(t), nil, args...); r.code != 0 {
				t.Fatalf("without --sandbox: exit %d, want 0", r.code)
			}
			r := nixcross(t, workdir(t), nil, append(args, "--sandbox")...)
			if r.code != 1 || !strings.Contains(r.stderr, "builder: ") {
				t.Fatalf("under --sandbox: exit %d, want 1 with the builder's own error", r.code)
			}
			// Forwarded credentials give the build its own NIX_CONFIG; the
			// sandbox must survive it (it once did not).
			r = nixcross(t, workdir(t), []string{"NIX_CONFIG=access-tokens = example.org=not-a-secret"}, append(args, "--sandbox")...)
			if r.code != 1 || !strings.Contains(r.stderr, "builder: ") {
				t.Fatalf("under --sandbox with an access token forwarded: exit %d, want 1 with the builder's own error", r.code)
			}
		})
	}

	t.Run("x86_64 and aarch64", func(t *testing.T) {
		dir := workdir(t)
		r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux,aarch64-linux", "--no-cache", "--sandbox", "--json"}, offline...)...)
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		var doc struct {
			Builds []struct {
				System     string `json:"system"`
				Sandboxed  bool   `json:"sandboxed"`
				Provenance struct {
					Sandboxed bool `json:"sandboxed"`
				} `json:"provenance"`
			} `json:"builds"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 2 {
			t.Fatalf("JSON: %v\n%s", err, r.stdout)
		}
		for _, b := range doc.Builds {
			if !b.Sandboxed || !b.Provenance.Sandboxed {
				t.Errorf("%s: sandboxed %v, in its provenance %v", b.System, b.Sandboxed, b.Provenance.Sandboxed)
			}
		}
		for _, s := range []string{"x86_64-linux", "aarch64-linux"} {
			arch, err := os.ReadFile(filepath.Join(dir, "result-"+s, "share", "arch"))
			if err != nil || !strings.Contains(string(arch), "machine="+strings.TrimSuffix(s, "-linux")) {
				t.Errorf("%s: share/arch %q (%v)", s, arch, err)
			}
		}
		if !strings.Contains(r.stderr, "(emulated (QEMU, CPU cortex-a72), sandboxed)") || !strings.Contains(r.stderr, "(native, sandboxed)") {
			t.Error("the summaries do not say sandboxed")
		}
	})
}
