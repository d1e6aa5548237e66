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
	"testing"
	"time"
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
