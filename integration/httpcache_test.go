//go:build integration

package integration

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// httpCache is a binary cache that takes uploads the way Nix's HTTP store
// writes them (GET and HEAD read a file, PUT writes one), behind HTTP
// basic authentication, like a WebDAV share or an object store's HTTP
// front. It keeps the files in memory and counts refused requests.
type httpCache struct {
	user, password string
	mu             sync.Mutex
	files          map[string][]byte
	refused        int
}

func (c *httpCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != c.user || p != c.password {
		c.refused++
		w.Header().Set("WWW-Authenticate", `Basic realm="cache"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/cache/")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		data, ok := c.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	case http.MethodPut:
		data, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.files[name] = data
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// narinfo returns the narinfo uploaded for a store path, parsed.
func (c *httpCache) narinfo(path string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	hash, _, _ := strings.Cut(strings.TrimPrefix(path, "/nix/store/"), "-")
	data, ok := c.files[hash+".narinfo"]
	if !ok {
		return nil
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			fields[k] = v
		}
	}
	return fields
}

// TestPushHTTPSWithNetrc: --push https:// uploads through Nix's HTTP store
// with the credentials of the user's netrc-file (forwarded like those of
// private inputs), and with the user's --option ssl-cert-file on the push
// too; without the netrc the store refuses, the run exits 1 naming it, and
// the result stays. The password is printed nowhere.
func TestPushHTTPSWithNetrc(t *testing.T) {
	const password = "nixcross-test-password-7c1d"
	cache := &httpCache{user: "ci", password: password, files: map[string][]byte{}}
	addr, ca := tlsOnBridge(t, cache)
	host, _, _ := strings.Cut(addr, ":")

	// A copy of the fixture holding the CA, so Nix in the container
	// reads it at the same path.
	app := filepath.Join(workdir(t), "app")
	if out, err := exec.Command("cp", "-a", fixtureDir, app).CombinedOutput(); err != nil {
		t.Fatalf("copy the fixture: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(app, "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	netrc := filepath.Join(workdir(t), "netrc")
	if err := os.WriteFile(netrc, []byte("machine "+host+" login ci password "+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := "https://" + addr + "/cache"
	args := slices.Concat([]string{"build", app + "#greeting", "--system", "x86_64-linux", "--json", "--no-cache",
		"--push", store, "--option", "ssl-cert-file", filepath.Join(app, "ca.pem")}, offline)
	env := []string{"HOME=" + workdir(t), "DOCKER_HOST=unix://" + daemonSocket}

	dir := workdir(t)
	r := nixcross(t, dir, append(env, "NIX_CONFIG=netrc-file = "+netrc), args...)
	if r.code != 0 {
		t.Fatalf("push with the netrc: exit %d", r.code)
	}
	b := pushedBuild(t, r.stdout)
	if len(b.Pushed) != 1 || b.Pushed[0].Store != store || b.Pushed[0].Paths != b.Closure.Paths {
		t.Fatalf("pushed = %+v, want the closure's %d paths to %s", b.Pushed, b.Closure.Paths, store)
	}
	for _, out := range b.Outputs {
		info := cache.narinfo(out)
		if info == nil || info["StorePath"] != out || !strings.HasPrefix(info["URL"], "nar/") {
			t.Fatalf("narinfo of %s on the server: %v", out, info)
		}
		cache.mu.Lock()
		_, hasNar := cache.files[info["URL"]]
		cache.mu.Unlock()
		if !hasNar {
			t.Errorf("%s: the NAR %s was not uploaded", out, info["URL"])
		}
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Fatal("the password was printed")
	}

	// No netrc: the server refuses; the build's result is still there.
	refusedBefore := cache.refused
	dir = workdir(t)
	r = nixcross(t, dir, append(env, "NIX_CONFIG="), args...)
	if r.code != 1 || !strings.Contains(r.stderr, "push to "+store) || !strings.Contains(r.stderr, "netrc-file") {
		t.Fatalf("push without credentials: exit %d, want 1 naming the store, with a hint on netrc-file", r.code)
	}
	if cache.refused == refusedBefore {
		t.Error("the server refused nothing: the push did not reach it")
	}
	if _, err := os.Stat(filepath.Join(dir, "result")); err != nil {
		t.Fatalf("the result is gone after a failed push: %v", err)
	}
}

// TestPushS3WithoutS3: the built-in image's Nix (Debian's) has no S3
// store, so --push s3:// stops before the build with exit 3 and the way
// round it, instead of failing after the build; no result is written.
func TestPushS3WithoutS3(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir + "#greeting", "--system", "x86_64-linux", "--no-cache", "--push", "s3://nixcross-test-bucket"}, offline...)...)
	if r.code != 3 || !strings.Contains(r.stderr, "without S3 support") || !strings.Contains(r.stderr, "--to-cache") {
		t.Fatalf("exit %d, want 3 saying the image's Nix has no S3 store", r.code)
	}
	if strings.Contains(r.stderr, "will be built") {
		t.Error("it built before refusing")
	}
	if _, err := os.Lstat(filepath.Join(dir, "result")); !os.IsNotExist(err) {
		t.Errorf("a result was written: %v", err)
	}
}
