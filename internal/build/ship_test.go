package build

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/image"
	"github.com/nixcross/nixcross/internal/storetest"
)

// loadResult is the daemon's answer to an image load.
type loadResult struct{ io.Reader }

func (loadResult) Close() error { return nil }

// programNAR is an output with one program, bin/hello.
func programNAR() []byte {
	var nar storetest.Builder
	nar.Magic().OpenDir().Entry("bin", func(b *storetest.Builder) {
		b.OpenDir().Entry("hello", func(b *storetest.Builder) {
			b.Str("(", "type", "regular", "executable", "", "contents", "\x7fELF", ")")
		}).CloseDir()
	}).CloseDir()
	return nar.Bytes()
}

// buildAndLoad runs req with --tag ref --load and ships it.
func buildAndLoad(t *testing.T, r *Runner, req Request, flake, ref string) ([]*Result, *Shipped) {
	t.Helper()
	tag, _ := image.ParseTag(ref)
	req.Ship = Ship{Tag: tag, Ref: ref, Load: true}
	req.Provenance = true
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := r.Ship(context.Background(), req, results)
	if err != nil {
		t.Fatal(err)
	}
	return results, shipped
}

// TestShipLoad: with --tag and --load, the build's image (its program the
// output's only one, its date the flake's lastModified, its platform the
// system's) is streamed to the daemon's image load as a docker save
// archive tagged REF, and the result and the run report it.
func TestShipLoad(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeedWith(programNAR())
	d.provenance = `{"locked":{"lastModified":1700000000,"narHash":"sha256-P=","type":"git","url":"https://example.org/app.git","rev":"abc"},"revision":"abc","locks":{"nodes":{"root":{}},"root":"root","version":7},"url":"git+https://example.org/app.git?rev=abc"}
` + provenanceMarker + "\n"
	d.eval = func(c *fakeContainer) (string, int) { return "null\n", 0 } // no meta.mainProgram
	r, _, _ := d.runner()
	var manifest []struct {
		Config   string
		RepoTags []string
	}
	var config []byte
	r.Engine.API.(*engine.Fake).ImageLoadFunc = func(ctx context.Context, input io.Reader) (client.ImageLoadResult, error) {
		files := map[string][]byte{}
		tr := tar.NewReader(input)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			files[h.Name], _ = io.ReadAll(tr)
		}
		json.Unmarshal(files["manifest.json"], &manifest)
		if len(manifest) == 1 {
			config = files[manifest[0].Config]
		}
		return loadResult{strings.NewReader(`{"stream":"Loaded image: app:1\n"}`)}, nil
	}
	req := request(t, out, sys(t, "aarch64-linux"))
	results, shipped := buildAndLoad(t, r, req, flake, "app:1")
	if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{"app:1"}) {
		t.Fatalf("loaded archive's manifest %+v", manifest)
	}
	var cfg struct {
		Architecture, Variant, OS, Created string
		Config                             struct {
			Entrypoint []string
			Labels     map[string]string
		}
	}
	json.Unmarshal(config, &cfg)
	if cfg.Architecture != "arm64" || cfg.Variant != "v8" || cfg.Created != "2023-11-14T22:13:20Z" ||
		!slices.Equal(cfg.Config.Entrypoint, []string{storePath + "/bin/hello"}) ||
		cfg.Config.Labels["org.opencontainers.image.source"] != "https://example.org/app.git" || cfg.Config.Labels["org.opencontainers.image.revision"] != "abc" {
		t.Errorf("image config %s", config)
	}
	img := results[0].Image
	if img == nil || img.Platform != "linux/arm64/v8" || img.Loaded != "app:1" || !strings.HasPrefix(img.Digest, "sha256:") {
		t.Errorf("result image %+v", img)
	}
	if shipped == nil || !slices.Equal(shipped.Loaded, []string{"app:1"}) || shipped.Pushed || !strings.HasPrefix(shipped.Digest, "sha256:") {
		t.Errorf("shipped %+v", shipped)
	}
}

// TestShipLoadSystems: several systems load one name each, the system
// appended to the tag; a daemon with containerd's image store, which
// could hold them under one, is told why not.
func TestShipLoadSystems(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeedWith(programNAR())
	d.provenance = `{"locked":{"lastModified":1,"narHash":"sha256-P=","path":"/src","type":"path"},"locks":{"nodes":{"root":{}},"root":"root","version":7},"url":"path:/src"}
` + provenanceMarker + "\n"
	d.probeCodes = []int{1}
	r, stderr, _ := d.runner()
	r.Engine.ContainerdStore = true
	var loads int
	r.Engine.API.(*engine.Fake).ImageLoadFunc = func(ctx context.Context, input io.Reader) (client.ImageLoadResult, error) {
		io.Copy(io.Discard, input)
		loads++
		return loadResult{strings.NewReader("")}, nil
	}
	req := request(t, out, sys(t, "x86_64-linux"), sys(t, "aarch64-linux"))
	results, shipped := buildAndLoad(t, r, req, flake, "registry.example.org/app:1")
	want := []string{"registry.example.org/app:1-x86_64-linux", "registry.example.org/app:1-aarch64-linux"}
	if loads != 2 || !slices.Equal(shipped.Loaded, want) || results[1].Image.Loaded != want[1] {
		t.Errorf("%d loads as %v, want %v", loads, shipped.Loaded, want)
	}
	if results[0].Image.Digest == results[1].Image.Digest {
		t.Error("the two systems' images have one digest")
	}
	if !strings.Contains(stderr.String(), "containerd's store") {
		t.Errorf("no word on the containerd store in\n%s", stderr)
	}
}
