package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/nix"
)

// TestKeyGenerate: the pair lands as NAME.sec (private to the user) and
// NAME.pub, in Nix's format, the public key on stdout; a second run never
// replaces them.
func TestKeyGenerate(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, nil, "key", "generate", "cache.example.org-1", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sec, pub := filepath.Join(dir, "cache.example.org-1.sec"), filepath.Join(dir, "cache.example.org-1.pub")
	secData, err := os.ReadFile(sec)
	if err != nil {
		t.Fatal(err)
	}
	pubData, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	k, err := nix.ParseSecretKey(string(secData))
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "cache.example.org-1" || k.Public().String()+"\n" != string(pubData) || stdout != string(pubData) {
		t.Errorf("secret %q, public %q, stdout %q", secData, pubData, stdout)
	}
	if st, _ := os.Stat(sec); st.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode %v", st.Mode().Perm())
	}

	code, _, stderr = runCLI(t, nil, "key", "generate", "cache.example.org-1", "--dir", dir)
	if again, _ := os.ReadFile(sec); code != 2 || string(again) != string(secData) || !strings.Contains(stderr, "will not replace") {
		t.Errorf("second run: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCLI(t, nil, "key", "generate", "bad:name", "--dir", dir); code != 2 {
		t.Errorf("a name with a colon: exit %d", code)
	}
}

func TestCacheOptions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte("{}"), 0o644)
	key, err := nix.GenerateKey("k-1")
	if err != nil {
		t.Fatal(err)
	}
	secFile := filepath.Join(dir, "k-1.sec")
	os.WriteFile(secFile, []byte(key.String()+"\n"), 0o600)
	pubFile := filepath.Join(dir, "k-1.pub")
	os.WriteFile(pubFile, []byte(key.Public().String()+"\n"), 0o644)
	cache := filepath.Join(dir, "cache")
	base := buildOptions{jobs: 1, outLink: filepath.Join(dir, "result"), source: "auto", pushWhat: "closure"}

	o := base
	o.push, o.toCache, o.signKey = []string{"ssh-ng://me@box"}, cache, secFile
	o.trustedKeys = []string{key.Public().String()}
	req, _, err := parseBuildRequest(o, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Push) != 2 || req.Push[0].URL != "ssh-ng://me@box" || req.Push[1].HostDir != cache || req.SignKey != secFile || req.TrustedKeys[0] != key.Public().String() {
		t.Fatalf("request %+v", req)
	}
	if st, err := os.Stat(cache); err != nil || !st.IsDir() {
		t.Errorf("--to-cache directory not created: %v", err)
	}

	os.WriteFile(filepath.Join(cache, "nix-cache-info"), []byte("StoreDir: /nix/store\n"), 0o644)
	o = base
	o.substituters = []string{"file://" + cache}
	if req, _, err = parseBuildRequest(o, dir, nil); err != nil || req.Substituters[0].HostDir != cache {
		t.Fatalf("substituter: %+v %v", req.Substituters, err)
	}

	bad := []struct {
		name string
		set  func(o *buildOptions)
		msg  string
	}{
		{"sign without push", func(o *buildOptions) { o.signKey = secFile }, "neither"},
		{"public key to sign", func(o *buildOptions) { o.push, o.signKey = []string{"file://" + cache}, pubFile }, "not a Nix secret key"},
		{"file name as trusted key", func(o *buildOptions) { o.trustedKeys = []string{pubFile} }, "--trusted-key"},
		{"secret as trusted key", func(o *buildOptions) { o.trustedKeys = []string{key.String()} }, "--trusted-key"},
		{"not a cache", func(o *buildOptions) { o.substituters = []string{"file://" + dir} }, "no nix-cache-info"},
		{"no scheme", func(o *buildOptions) { o.push = []string{cache} }, "not a Nix store URL"},
		{"push what", func(o *buildOptions) { o.pushWhat = "everything" }, "--push-what"},
	}
	for _, b := range bad {
		o := base
		b.set(&o)
		_, _, err := parseBuildRequest(o, dir, nil)
		if err == nil || !strings.Contains(err.Error(), b.msg) || strings.Contains(err.Error(), key.String()) {
			t.Errorf("%s: got %v, want a usage error containing %q (and no secret)", b.name, err, b.msg)
		}
	}
}
