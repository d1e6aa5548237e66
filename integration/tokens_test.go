//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

// privateGitHub serves one private repository the way a GitHub Enterprise
// API does (/api/v3/repos/OWNER/REPO/commits/REF and …/tarball/REV), over
// TLS on the Docker bridge's gateway (see tlsOnBridge), and answers 404 to
// any request without the token, as GitHub does. It returns host:port and
// the CA certificate in PEM.
func privateGitHub(t *testing.T, token, message string) (string, []byte) {
	t.Helper()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "org-private-" + rev[:7] + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1700000000, 0)})
	tw.WriteHeader(&tar.Header{Name: "org-private-" + rev[:7] + "/message", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(message)), ModTime: time.Unix(1700000000, 0)})
	tw.Write([]byte(message))
	tw.Close()
	zw.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/api/v3/repos/org/private/commits/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sha":"` + rev + `","commit":{"tree":{"sha":"` + gitTree(message) + `"},"committer":{"date":"2023-11-14T22:13:20Z"}}}`))
	})
	mux.HandleFunc("/api/v3/repos/org/private/tarball/"+rev, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Write(tgz.Bytes())
	})
	return tlsOnBridge(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+token {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// tlsOnBridge serves h over TLS on the Docker bridge's gateway, where
// build containers reach the host, with a certificate a CA of its own
// signed. It returns host:port and the CA certificate in PEM.
func tlsOnBridge(t *testing.T, h http.Handler) (string, []byte) {
	t.Helper()
	res, err := docker.NetworkInspect(context.Background(), "bridge", client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("inspect the bridge network: %v", err)
	}
	var gw net.IP
	for _, c := range res.Network.IPAM.Config {
		switch {
		case c.Gateway.Is4():
			gw = net.IP(c.Gateway.AsSlice())
		case c.Subnet.Addr().Is4():
			// Older daemons leave Gateway out: the bridge takes the
			// subnet's first address.
			gw = net.IP(c.Subnet.Masked().Addr().Next().AsSlice())
		}
	}
	if gw == nil {
		t.Skip("the bridge network has no IPv4 gateway")
	}
	ca := newTestCA(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(gw.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on the bridge gateway %s: %v", gw, err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{ca.serverPair(t, gw)}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), ca.pem
}

// gitTree is git's hash of a tree holding one file, message, with content:
// Nix compares the tarball with the tree hash the API announces.
func gitTree(content string) string {
	blob := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	entry := append([]byte("100644 message\x00"), blob[:]...)
	tree := sha1.Sum(append([]byte(fmt.Sprintf("tree %d\x00", len(entry))), entry...))
	return hex.EncodeToString(tree[:])
}

// TestAccessTokenFromNixConfig: a github: input on a host that wants a
// token builds when NIX_CONFIG carries access-tokens, which nixcross hands
// to Nix for the run; the token shows up in no output and no JSON, and
// without it the failure says how to give one.
func TestAccessTokenFromNixConfig(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fixture builds natively for x86_64-linux")
	}
	const token = "nixcross-test-token-5f1e"
	host, ca := privateGitHub(t, token, "hello from behind a token")

	app := filepath.Join(workdir(t), "app")
	x86, _ := system.Parse("x86_64-linux")
	if err := fixture.CompileBuilder(fixture.RepoRoot(), x86, filepath.Join(app, "builders", "x86_64-linux")); err != nil {
		t.Fatal(err)
	}
	flakeNix := `{
  # Attributes, not a URL: a github: URL's host cannot carry a port.
  inputs.lib = { type = "github"; owner = "org"; repo = "private"; host = "` + host + `"; flake = false; };
  outputs = { self, lib }: {
    packages.x86_64-linux.default = derivation {
      name = "greeting"; system = "x86_64-linux"; builder = ./builders/x86_64-linux;
      mode = "dep"; message = builtins.readFile "${lib}/message";
    };
  };
}`
	for name, content := range map[string][]byte{"flake.nix": []byte(flakeNix), "ca.pem": ca} {
		if err := os.WriteFile(filepath.Join(app, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, app, "init", "-q")
	commit(t, app)

	// ca.pem is in the mounted repository, at the same path for Nix.
	args := slices.Concat([]string{"build", app, "--system", "x86_64-linux", "--json", "--no-cache",
		"--option", "ssl-cert-file", filepath.Join(app, "ca.pem")}, offline)
	env := []string{"HOME=" + workdir(t), "DOCKER_HOST=unix://" + daemonSocket}

	wd := workdir(t)
	r := nixcross(t, wd, append(env, "NIX_CONFIG=access-tokens = "+host+"="+token), args...)
	if r.code != 0 {
		t.Fatalf("exit %d with the token", r.code)
	}
	if g := resultGreeting(t, wd); g != "hello from behind a token" {
		t.Fatalf("result/greeting = %q", g)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Fatal("the token was printed")
	}

	// Given with --option, and nothing forwarded, it reaches Nix through
	// the credentials file, not Nix's command line.
	wd = workdir(t)
	r = nixcross(t, wd, append(env, "NIX_CONFIG="), append(args, "--no-forward-credentials", "--option", "access-tokens", host+"="+token)...)
	if r.code != 0 {
		t.Fatalf("exit %d with the token given by --option", r.code)
	}
	if g := resultGreeting(t, wd); g != "hello from behind a token" || strings.Contains(r.stdout+r.stderr, token) {
		t.Fatalf("result/greeting = %q; token printed %v", g, strings.Contains(r.stdout+r.stderr, token))
	}

	r = nixcross(t, workdir(t), append(env, "NIX_CONFIG="), args...)
	if r.code != 3 {
		t.Fatalf("exit %d without the token, want 3", r.code)
	}
	if i := strings.LastIndex(r.stderr, "Hint:"); i < 0 || !strings.Contains(r.stderr[i:], "access-tokens") || !strings.Contains(r.stderr[i:], "github:org/private") {
		t.Errorf("stderr lacks the hint on giving a token")
	}
}
