//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/nixcross/nixcross/internal/fixture"
)

// registry is Debian's registry on a free loopback port for the test.
func registry(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Skip("docker-registry not installed (scripts/provision.sh installs it)")
	}
	addr, stop, err := fixture.Registry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// ociIndex is the part of an image index the tests read.
type ociIndex struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

func (ix ociIndex) platforms() []string {
	var out []string
	for _, m := range ix.Manifests {
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		out = append(out, p)
	}
	return out
}

// skopeoIndex reads an index with skopeo, an independent client: its
// digest (of the raw bytes) and its platforms.
func skopeoIndex(t *testing.T, ref string) (string, ociIndex) {
	t.Helper()
	out, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v", ref, err)
	}
	var ix ociIndex
	if err := json.Unmarshal(out, &ix); err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v\n%s", ref, err, out)
	}
	sum := sha256.Sum256(out)
	return "sha256:" + hex.EncodeToString(sum[:]), ix
}

// shipDocument is --json's image members.
type shipDocument struct {
	Builds []struct {
		System string `json:"system"`
		Image  struct {
			Digest   string `json:"digest"`
			Platform string `json:"platform"`
			Loaded   string `json:"loaded"`
		} `json:"image"`
	} `json:"builds"`
	Image struct {
		Ref    string   `json:"ref"`
		Digest string   `json:"digest"`
		Pushed bool     `json:"pushed"`
		Layout string   `json:"ociLayout"`
		Loaded []string `json:"loaded"`
	} `json:"image"`
}

func parseShip(t *testing.T, stdout string) shipDocument {
	t.Helper()
	var doc shipDocument
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	return doc
}

// checkPushedIndex reads ref's index from the registry with skopeo: it
// lists linux/amd64 then linux/arm64/v8, each the image --json names for
// its build, and its digest is --json's. It returns the digest and index.
func checkPushedIndex(t *testing.T, ref string, doc shipDocument) (string, ociIndex) {
	t.Helper()
	digest, ix := skopeoIndex(t, "docker://"+ref)
	if want := []string{"linux/amd64", "linux/arm64/v8"}; !slices.Equal(ix.platforms(), want) {
		t.Fatalf("pushed index platforms %v, want %v", ix.platforms(), want)
	}
	if digest != doc.Image.Digest {
		t.Errorf("registry's index digest %s, --json says %s", digest, doc.Image.Digest)
	}
	for i, b := range doc.Builds {
		if ix.Manifests[i].Digest != b.Image.Digest {
			t.Errorf("%s: index lists %s, --json says %s", b.System, ix.Manifests[i].Digest, b.Image.Digest)
		}
	}
	return digest, ix
}

// emulateAarch64 makes the daemon run aarch64 programs in any container,
// as `nixcross binfmt install` does for a user, for as long as the test
// runs; a host that runs them already is left as it is.
func emulateAarch64(t *testing.T, dir string) {
	t.Helper()
	r := nixcross(t, dir, nil, "binfmt", "status", "--json")
	var list []struct {
		System   string `json:"system"`
		Runnable bool   `json:"runnable"`
	}
	json.Unmarshal([]byte(r.stdout), &list)
	for _, s := range list {
		if s.System == "aarch64-linux" && s.Runnable {
			return
		}
	}
	if r := nixcross(t, dir, nil, "binfmt", "install", "--system", "aarch64-linux"); r.code != 0 {
		t.Fatalf("binfmt install: exit %d", r.code)
	}
	// Only what this test installed: other tests may keep other systems.
	t.Cleanup(func() { nixcross(t, dir, nil, "binfmt", "uninstall", "--system", "aarch64-linux") })
}

// runPlatform pulls ref for platform (the daemon reaches 127.0.0.1
// registries over plain HTTP by default) and runs it, removing the image
// afterwards.
func runPlatform(t *testing.T, ref, platform string) string {
	t.Helper()
	t.Cleanup(func() { docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
	out, code := runImage(t, ref, "oci", testcontainers.WithImagePlatform(platform), testcontainers.WithAlwaysPull())
	if code != 0 {
		t.Fatalf("docker run --platform %s %s: exit %d\n%s", platform, ref, code, out)
	}
	return out
}

// TestOCIPushIndex: x86_64 and aarch64 built with --tag --push-image make
// one index in Debian's registry, which skopeo lists as linux/amd64 and
// linux/arm64/v8; Docker runs each platform (aarch64 under QEMU); the
// same build pushed under a second tag has the same index digest; and
// --oci-out writes a layout skopeo reads and copies with both platforms.
func TestOCIPushIndex(t *testing.T) {
	reg := registry(t)
	dir := workdir(t)
	ref := reg + "/x:1"
	args := append([]string{"build", fixtureDir, "--system", "x86_64-linux,aarch64-linux", "--json", "--tag", ref, "--push-image", "--oci-out", "oci"}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("build: exit %d", r.code)
	}
	doc := parseShip(t, r.stdout)
	if !doc.Image.Pushed || doc.Image.Ref != ref || !strings.HasPrefix(doc.Image.Digest, "sha256:") {
		t.Fatalf("--json image: %+v", doc.Image)
	}
	if !strings.Contains(r.stderr, "index "+doc.Image.Digest) {
		t.Errorf("the summary does not name the index digest %s", doc.Image.Digest)
	}

	digest, ix := checkPushedIndex(t, ref, doc)

	emulateAarch64(t, dir)
	if out := runPlatform(t, ref, "linux/arm64"); !strings.Contains(out, "machine=aarch64") {
		t.Errorf("linux/arm64 printed %q, want the aarch64 program's report", out)
	}
	if out := runPlatform(t, ref, "linux/amd64"); !strings.Contains(out, "machine=x86_64") {
		t.Errorf("linux/amd64 printed %q, want the x86_64 program's report", out)
	}

	again := append([]string{"build", fixtureDir, "--system", "x86_64-linux,aarch64-linux", "--json", "--tag", reg + "/x:2", "--push-image"}, offline...)
	if r := nixcross(t, dir, nil, again...); r.code != 0 {
		t.Fatalf("second build: exit %d", r.code)
	}
	if d2, _ := skopeoIndex(t, "docker://"+reg+"/x:2"); d2 != digest {
		t.Errorf("the same build under a second tag has index %s, the first %s", d2, digest)
	}

	layout := filepath.Join(dir, "oci")
	ld, lix := skopeoIndex(t, "oci:"+layout+":1")
	if ld != digest || !slices.Equal(lix.platforms(), ix.platforms()) {
		t.Errorf("--oci-out index %s %v, pushed %s %v", ld, lix.platforms(), digest, ix.platforms())
	}
	copied := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("skopeo", "copy", "--all", "oci:"+layout+":1", "dir:"+copied).CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy --all oci:%s:1: %v\n%s", layout, err, out)
	}
}

// TestOCILoad: --load of an aarch64 build gives an arm64 image in the
// daemon, under the tag as given, that runs (under QEMU); of two systems,
// one image each, the system appended to the tag.
func TestOCILoad(t *testing.T) {
	dir := workdir(t)
	ref := "nixcross-test-oci:arm64"
	t.Cleanup(func() { docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
	args := append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json", "--tag", ref, "--load"}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("build: exit %d", r.code)
	}
	doc := parseShip(t, r.stdout)
	if !slices.Equal(doc.Image.Loaded, []string{ref}) {
		t.Errorf("--json loaded %v, want [%s]", doc.Image.Loaded, ref)
	}
	img, err := docker.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("the loaded image: %v", err)
	}
	if img.Architecture != "arm64" || img.Variant != "v8" || img.Os != "linux" {
		t.Errorf("loaded image is %s/%s/%s, want linux/arm64/v8", img.Os, img.Architecture, img.Variant)
	}
	emulateAarch64(t, dir)
	out, code := runImage(t, ref, "oci")
	if code != 0 || !strings.Contains(out, "machine=aarch64") {
		t.Errorf("docker run %s: exit %d %q", ref, code, out)
	}

	// Several systems: one name each, the system appended to the tag.
	multi := "nixcross-test-oci:multi"
	want := map[string]string{multi + "-x86_64-linux": "amd64", multi + "-aarch64-linux": "arm64"}
	for name := range want {
		t.Cleanup(func() { docker.ImageRemove(context.Background(), name, client.ImageRemoveOptions{Force: true}) })
	}
	r = nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux,aarch64-linux", "--json", "--tag", multi, "--load"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("build of two systems: exit %d", r.code)
	}
	if loaded := parseShip(t, r.stdout).Image.Loaded; len(loaded) != 2 || want[loaded[0]] != "amd64" || want[loaded[1]] != "arm64" {
		t.Errorf("--json loaded %v, want %s-x86_64-linux and %s-aarch64-linux", loaded, multi, multi)
	}
	for name, arch := range want {
		img, err := docker.ImageInspect(context.Background(), name)
		if err != nil || img.Architecture != arch {
			t.Errorf("%s: %v, architecture %q, want %s", name, err, img.Architecture, arch)
		}
	}
	if !strings.Contains(r.stderr, "one name per system") {
		t.Error("the summary does not say why there is one name per system")
	}
}

// TestDerefNeedsNix: a --dereference copy of a program whose ELF
// interpreter is a store path, and of a script whose #! is one, warns once
// naming both and what runs them instead, and --json lists them; the
// static fixture program's copy does not warn.
func TestDerefNeedsNix(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#dynamic", "--system", "x86_64-linux", "--dereference", "--json"}, offline...)...)
	if r.code != 0 {
		t.Fatalf("build: exit %d", r.code)
	}
	if n := strings.Count(r.stderr, "still need /nix/store"); n != 1 {
		t.Errorf("%d warnings about /nix/store, want one", n)
	}
	for _, want := range []string{"result-deref/bin/dynamic (its interpreter /nix/store/", "result-deref/bin/script (run by /nix/store/", "--tag REF --load", `docker run -v "$PWD/nix:/nix:ro"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the warning lacks %q", want)
		}
	}
	var doc struct {
		Builds []struct {
			NeedsNix []struct{ Path, How, Needs string } `json:"dereferencedNeedsNix"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 1 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	var listed []string
	for _, n := range doc.Builds[0].NeedsNix {
		listed = append(listed, n.Path+" "+n.How)
	}
	if want := []string{"bin/dynamic interpreter", "bin/script script"}; !slices.Equal(listed, want) {
		t.Errorf("--json lists %v, want %v", listed, want)
	}

	static := nixcross(t, workdir(t), nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux", "--dereference"}, offline...)...)
	if static.code != 0 || strings.Contains(static.stderr, "/nix/store to run") {
		t.Errorf("the static program's copy: exit %d, warned: %v", static.code, strings.Contains(static.stderr, "/nix/store to run"))
	}
}
