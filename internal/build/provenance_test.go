package build

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/nixcross/nixcross/internal/nix"
)

// TestProvenance: the provenance stage reads the flake's pins, Nix's
// version and the derivation from what the container reports, the image
// from the daemon, and writes the same document beside the out-link.
func TestProvenance(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	// As the containerd image store lists a locally built image.
	d.repoDigests = []string{"nixcross-builder@sha256:0123456789abcdef0123"}
	d.provenance = `{"locked":{"lastModified":1,"narHash":"sha256-P=","path":"/src","type":"path"},"locks":{"nodes":{"root":{}},"root":"root","version":7},"url":"path:/src"}
` + provenanceMarker + "\n"
	r, _, _ := d.runner()
	r.Version = "v1.2.3"
	req := request(t, out)
	req.Provenance, req.WriteProvenance = true, true
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	p := results[0].Provenance
	if p == nil {
		t.Fatal("no provenance")
	}
	want := &Provenance{
		Flake: p.Flake, Inputs: map[string]nix.Locked{}, Derivations: map[string]string{storePath: "/nix/store/x.drv"},
		Image: ProvenanceImage{Ref: p.Image.Ref, ID: "sha256:0123456789abcdef0123", RepoDigests: []string{}},
		Nix:   "2.26.3", System: "x86_64-linux", Native: true, Nixcross: "v1.2.3",
	}
	if p.Flake.NarHash != "sha256-P=" || p.Flake.URL != "path:/src" || !reflect.DeepEqual(p, want) {
		t.Errorf("provenance\n%+v\nwant\n%+v", p, want)
	}
	data, err := os.ReadFile(req.OutLink + ProvenanceSuffix)
	if err != nil {
		t.Fatal(err)
	}
	var written Provenance
	if err := json.Unmarshal(data, &written); err != nil || !reflect.DeepEqual(&written, p) {
		t.Errorf("written %s (%v)", data, err)
	}
}

// TestProvenanceRepoDigests: the built-in image, built here, has no
// registry digest whatever the daemon lists (TestProvenance); an --image
// image has the daemon's.
func TestProvenanceRepoDigests(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	d.repoDigests = []string{"nixos/nix@sha256:feed"}
	d.provenance = `{"locked":{"lastModified":1,"narHash":"sha256-P=","path":"/src","type":"path"},"locks":{"nodes":{"root":{}},"root":"root","version":7},"url":"path:/src"}
` + provenanceMarker + "\n"
	r, _, _ := d.runner()
	req := request(t, out)
	req.Provenance, req.Image = true, "nixos/nix"
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	if p := results[0].Provenance; p == nil || !reflect.DeepEqual(p.Image.RepoDigests, d.repoDigests) {
		t.Errorf("provenance %+v, want the image's repo digests", p)
	}
}

func TestQEMUVersion(t *testing.T) {
	for in, want := range map[string]string{
		"qemu-aarch64 version 10.0.2 (Debian 1:10.0.2+ds-2)\n": "10.0.2",
		"qemu-riscv64 version 7.2.0\n":                         "7.2.0",
		"":                                                     "",
	} {
		if got := qemuVersion(in); got != want {
			t.Errorf("qemuVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
