//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/nar"

	root "github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
)

// TestProvenance: --provenance writes <link>.provenance.json per system,
// the same document --json carries, and it holds what the test knows
// independently: the fixture's git revision and the NAR hash of its
// tracked files, the derivation of the output, the builder image's ID,
// the system and whether it was emulated.
func TestProvenance(t *testing.T) {
	rev, err := exec.Command("git", "-C", fixtureDir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	var tree bytes.Buffer
	if err := nar.DumpPathFilter(&tree, fixtureDir, func(p string, _ nar.NodeType) bool { return filepath.Base(p) != ".git" }); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tree.Bytes())
	narHash := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	img, err := docker.ImageInspect(context.Background(), engine.BuilderTag(root.Dockerfile, build.DefaultBase))
	if err != nil {
		t.Fatal(err)
	}

	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#greeting", "--system", "x86_64-linux,aarch64-linux", "--provenance", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	var doc struct {
		Builds []struct {
			System     string            `json:"system"`
			Outputs    []string          `json:"outputs"`
			Provenance *build.Provenance `json:"provenance"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 2 {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	for _, b := range doc.Builds {
		p := b.Provenance
		if p == nil {
			t.Fatalf("%s: no provenance in --json", b.System)
		}
		var written build.Provenance
		data, err := os.ReadFile(filepath.Join(dir, "result-"+b.System+build.ProvenanceSuffix))
		if err != nil || json.Unmarshal(data, &written) != nil || !reflect.DeepEqual(&written, p) {
			t.Errorf("%s: the written provenance (%v) is not the --json one:\n%s", b.System, err, data)
		}
		if p.Flake.Rev != strings.TrimSpace(string(rev)) || p.Flake.NarHash != narHash || !strings.Contains(p.Flake.URL, fixtureDir) {
			t.Errorf("%s: flake %+v, want rev %s narHash %s", b.System, p.Flake, rev, narHash)
		}
		if len(p.Inputs) != 0 {
			t.Errorf("%s: inputs %v for a flake without any", b.System, p.Inputs)
		}
		drv := p.Derivations[b.Outputs[0]]
		if len(p.Derivations) != 1 || !strings.HasPrefix(drv, "/nix/store/") || !strings.HasSuffix(drv, "-greeting.drv") {
			t.Errorf("%s: derivations %v for output %s", b.System, p.Derivations, b.Outputs[0])
		}
		if p.Image.ID != img.ID || len(p.Image.RepoDigests) != 0 {
			t.Errorf("%s: image %+v, want ID %s and no repo digest (built locally)", b.System, p.Image, img.ID)
		}
		if p.System != b.System || p.Sandboxed || p.Nixcross != "dev" || p.Nix == "" || p.Nix[0] < '2' || p.Nix[0] > '9' {
			t.Errorf("%s: provenance %+v", b.System, p)
		}
		native := b.System == "x86_64-linux"
		if p.Native != native || (native && (p.QEMU != "" || p.Emulator != "")) {
			t.Errorf("%s: native %v emulator %q qemu %q", b.System, p.Native, p.Emulator, p.QEMU)
		}
		if p.Emulator == build.EmulatorNixcross && (p.QEMU == "" || p.QEMU[0] < '1' || p.QEMU[0] > '9') {
			t.Errorf("%s: emulated by nixcross's QEMU, but its version is %q", b.System, p.QEMU)
		}
	}
}
