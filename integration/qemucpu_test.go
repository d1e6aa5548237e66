//go:build integration

package integration

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/testcontainers/testcontainers-go"
)

// The CPU features QEMU 10 announces to aarch64 binaries (AT_HWCAP and
// AT_HWCAP2, as the fixture's builder prints them in its cpu mode): the
// armv8.0-a models nixcross chooses (cortex-a72, and cortex-a53) against
// QEMU's default "max" (SVE, SME, MTE…).
const (
	hwcapsARMv8 = "0x8fb/0x0"
	hwcapsMax   = "0xeffffffb/"
)

var hwcapsRe = regexp.MustCompile(`builder: cpu \d+ rounds .*hwcaps (\S+)\)`)

// TestQEMUCPUModel: an emulated build runs the model nixcross chose, under
// --sandbox too (the builder sees its CPU features), and says so in --json;
// --qemu-cpu replaces it, inside the sandbox as well.
func TestQEMUCPUModel(t *testing.T) {
	build := func(t *testing.T, extra ...string) (jsonBuild, string, string) {
		t.Helper()
		args := append([]string{"build", fixtureDir + "#cpu", "--system", "aarch64-linux", "--no-cache", "--json"}, offline...)
		r := nixcross(t, workdir(t), nil, append(args, extra...)...)
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		m := hwcapsRe.FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no CPU features from the builder in the log")
		}
		var doc struct {
			Builds []struct {
				jsonBuild
				Emulator   string `json:"emulator"`
				QEMUCPU    string `json:"qemuCPU"`
				Sandboxed  bool   `json:"sandboxed"`
				Provenance struct {
					QEMUCPU string `json:"qemuCPU"`
				} `json:"provenance"`
			} `json:"builds"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 1 {
			t.Fatalf("--json: %v\n%s", err, r.stdout)
		}
		b := doc.Builds[0]
		if b.Emulator != "nixcross" {
			t.Skipf("emulator %q: a handler nixcross did not register ran the build (another tool's, on this host)", b.Emulator)
		}
		if b.Provenance.QEMUCPU != b.QEMUCPU {
			t.Errorf("provenance says model %q, the build %q", b.Provenance.QEMUCPU, b.QEMUCPU)
		}
		if strings.Contains(strings.Join(extra, " "), "--sandbox") != b.Sandboxed {
			t.Errorf("sandboxed %v with %q", b.Sandboxed, extra)
		}
		return b.jsonBuild, b.QEMUCPU, m[1]
	}
	t.Run("sandboxed, chosen model", func(t *testing.T) {
		_, model, hwcaps := build(t, "--sandbox")
		if model != "cortex-a72" || hwcaps != hwcapsARMv8 {
			t.Errorf("model %q, the builder saw %s; want cortex-a72 and %s", model, hwcaps, hwcapsARMv8)
		}
	})
	t.Run("sandboxed, --qemu-cpu max", func(t *testing.T) {
		_, model, hwcaps := build(t, "--sandbox", "--qemu-cpu", "aarch64-linux=max")
		if model != "max" || !strings.HasPrefix(hwcaps, hwcapsMax) {
			t.Errorf("model %q, the builder saw %s; want max and %s…", model, hwcaps, hwcapsMax)
		}
	})
	t.Run("--qemu-cpu cortex-a53", func(t *testing.T) {
		_, model, hwcaps := build(t, "--qemu-cpu", "aarch64-linux=cortex-a53")
		if model != "cortex-a53" || hwcaps != hwcapsARMv8 {
			t.Errorf("model %q, the builder saw %s; want cortex-a53 and %s", model, hwcaps, hwcapsARMv8)
		}
	})
}

// TestBinfmtInstallServesPlainContainers: after `nixcross binfmt install`,
// a plain unprivileged container of another image, with no QEMU in it,
// runs aarch64 binaries, with the chosen model: the wrapper registered with
// the F flag runs the QEMU it carries where the image's is not.
func TestBinfmtInstallServesPlainContainers(t *testing.T) {
	dir := workdir(t)
	t.Cleanup(func() { nixcross(t, dir, nil, "binfmt", "uninstall", "--system", "aarch64-linux") })
	if r := nixcross(t, dir, nil, "binfmt", "install", "--system", "aarch64-linux"); r.code != 0 {
		t.Fatalf("install: exit %d", r.code)
	} else if !strings.Contains(r.stderr, "nixcross-aarch64-cpu, CPU cortex-a72") {
		t.Skipf("another handler serves aarch64-linux here: %s", r.stderr)
	}
	out, code := runContainer(t, "debian:bookworm-slim", "foreign",
		testcontainers.ContainerMounts{testcontainers.BindMount(filepath.Join(fixtureDir, "builders"), "/builders")},
		"env", "mode=cpu", "out=/tmp/out", "rounds=1", "/builders/aarch64-linux")
	m := hwcapsRe.FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] != hwcapsARMv8 {
		t.Fatalf("aarch64 in a plain container: exit %d, %q; want the builder's report with %s", code, out, hwcapsARMv8)
	}
}
