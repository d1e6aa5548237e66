package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/system"
)

func TestSystemRef(t *testing.T) {
	for ref, want := range map[string]string{
		"app":                   "app:latest-aarch64-linux",
		"app:1":                 "app:1-aarch64-linux",
		"127.0.0.1:5000/x:1":    "127.0.0.1:5000/x:1-aarch64-linux",
		"localhost:5000/team/x": "localhost:5000/team/x:latest-aarch64-linux",
	} {
		tag, err := ParseTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := SystemRef(ref, tag, "aarch64-linux"); got != want {
			t.Errorf("SystemRef(%s) = %s, want %s", ref, got, want)
		}
	}
}

type answered struct{}

func (answered) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200}, nil
}

// Plain HTTP reaches only this machine, as Docker's default insecure
// registries (127.0.0.0/8); the library alone would also use it for
// private networks.
func TestLoopbackHTTPOnly(t *testing.T) {
	rt := loopbackHTTPOnly{answered{}}
	for url, ok := range map[string]bool{
		"http://127.0.0.1:5000/v2/":   true,
		"http://127.1.2.3:5000/v2/":   true,
		"http://localhost:5000/v2/":   true,
		"http://[::1]:5000/v2/":       true,
		"https://10.0.0.5:5000/v2/":   true,
		"http://10.0.0.5:5000/v2/":    false,
		"http://192.168.1.2:5000/v2/": false,
		"http://registry.local/v2/":   false,
	} {
		req, _ := http.NewRequest("GET", url, nil)
		_, err := rt.RoundTrip(req)
		if ok && err != nil || !ok && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("%s: %v", url, err)
		}
	}
}

// A docker save archive carries each layer's tar, gzipped for a remote
// daemon and as it is for a local one; either way the daemon finds the
// config's diffIDs.
func TestWriteArchive(t *testing.T) {
	root := t.TempDir()
	c, out := store(t, root, 0o644, time.Now())
	img, err := Build(spec(root, c, out))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	tag, _ := ParseTag("app:1")
	for _, local := range []bool{true, false} {
		var buf bytes.Buffer
		if err := WriteArchive(&buf, tag, img, local); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		tr := tar.NewReader(&buf)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			files[h.Name], _ = io.ReadAll(tr)
		}
		var manifest []struct{ Layers []string }
		if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
			t.Fatalf("local %v: manifest.json %s", local, files["manifest.json"])
		}
		for i, name := range manifest[0].Layers {
			data := files[name]
			if !local {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("layer %s: %v", name, err)
				}
				data, _ = io.ReadAll(zr)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != cfg.RootFS.DiffIDs[i].Hex {
				t.Errorf("local %v: layer %d (%s) is not the tar of diffID %s", local, i, name, cfg.RootFS.DiffIDs[i])
			}
		}
	}
}

// A layout is added to: the same tag again replaces its index, another
// tag adds one beside it.
func TestWriteLayout(t *testing.T) {
	root := t.TempDir()
	c, out := store(t, root, 0o644, time.Now())
	img, err := Build(spec(root, c, out))
	if err != nil {
		t.Fatal(err)
	}
	idx := Index([]Platformed{{Image: img, Platform: system.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	dir := filepath.Join(t.TempDir(), "oci")
	for _, ref := range []string{"app:1", "app:1", "app:2"} {
		tag, _ := ParseTag(ref)
		if err := WriteLayout(dir, tag, idx); err != nil {
			t.Fatal(err)
		}
	}
	var index struct {
		Manifests []struct {
			MediaType   string
			Annotations map[string]string
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	json.Unmarshal(data, &index)
	var names []string
	for _, m := range index.Manifests {
		if m.MediaType != "application/vnd.oci.image.index.v1+json" {
			t.Errorf("index.json lists a %s, want the image index", m.MediaType)
		}
		names = append(names, m.Annotations["org.opencontainers.image.ref.name"])
	}
	if strings.Join(names, " ") != "1 2" {
		t.Errorf("index.json names %v, want [1 2]", names)
	}
}
