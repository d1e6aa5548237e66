//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type jsonPushed struct {
	Builds []struct {
		Outputs []string `json:"outputs"`
		Closure struct {
			Paths int `json:"paths"`
		} `json:"closure"`
		Pushed []struct {
			Store string `json:"store"`
			Paths int    `json:"paths"`
			Bytes int64  `json:"bytes"`
		} `json:"pushed"`
	} `json:"builds"`
}

// keyPair makes a signing key with `nixcross key generate` in dir and
// returns the secret key file and the public key.
func keyPair(t *testing.T, dir, name string) (secFile, pub string) {
	t.Helper()
	r := nixcross(t, dir, nil, "key", "generate", name)
	if r.code != 0 {
		t.Fatalf("key generate: exit %d", r.code)
	}
	return filepath.Join(dir, name+".sec"), strings.TrimSpace(r.stdout)
}

// TestPushAndSubstitute: an aarch64 build pushed, signed, to a file://
// cache on the host (handed to the sudo user) and written by --to-cache
// to another; then a build with an empty
// store and no permission to build (max-jobs 0) substitutes everything
// from that cache, builds no derivation, and exports the same NAR hashes;
// with a key that did not sign the cache, Nix refuses the paths and the
// failure says why.
func TestPushAndSubstitute(t *testing.T) {
	dir := workdir(t)
	sec, pub := keyPair(t, dir, "nixcross-it-1")
	cache := filepath.Join(dir, "cache")
	toCache := filepath.Join(dir, "to-cache") // --to-cache, created by nixcross
	const uid = 4242                          // SUDO_UID: who the cache must belong to
	sudo := []string{"SUDO_UID=4242", "SUDO_GID=4242"}

	r := nixcross(t, dir, sudo, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json",
		"--push", "file://" + cache, "--sign-key", sec, "--to-cache", toCache}, offline...)...)
	if r.code != 0 {
		t.Fatalf("push build: exit %d", r.code)
	}
	var doc jsonPushed
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	b := doc.Builds[0]
	if len(b.Pushed) != 2 || b.Pushed[0].Store != "file://"+cache || b.Pushed[1].Store != "file://"+toCache ||
		b.Pushed[0].Paths != b.Closure.Paths || b.Pushed[1].Paths != b.Closure.Paths || b.Pushed[0].Bytes <= 0 {
		t.Fatalf("pushed %+v, closure %d paths", b.Pushed, b.Closure.Paths)
	}
	for _, c := range []string{cache, toCache} {
		if _, err := os.Stat(filepath.Join(c, "nix-cache-info")); err != nil {
			t.Errorf("%s is not a binary cache: %v", c, err)
		}
		if nars, _ := filepath.Glob(filepath.Join(c, "nar", "*.nar*")); len(nars) != b.Closure.Paths {
			t.Errorf("%s holds %d NARs, the closure has %d paths", c, len(nars), b.Closure.Paths)
		}
	}
	narinfos, _ := filepath.Glob(filepath.Join(cache, "*.narinfo"))
	if len(narinfos) != b.Closure.Paths {
		t.Fatalf("%d narinfo files in the cache, closure has %d paths", len(narinfos), b.Closure.Paths)
	}
	for _, n := range narinfos {
		info, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(info), "\nSig: nixcross-it-1:") {
			t.Errorf("%s is not signed by the key:\n%s", n, info)
		}
	}
	filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil && int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s belongs to uid %d, want the sudo user %d", p, fi.Sys().(*syscall.Stat_t).Uid, uid)
		}
		return nil
	})
	hashes := nixPathInfo(t, b.Outputs)

	// An empty store, no building allowed: everything must come from the cache.
	dir2 := workdir(t)
	r = nixcross(t, dir2, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json", "--no-cache", "--option", "max-jobs", "0",
		"--substituter", "file://" + cache, "--trusted-key", pub}, offline...)...)
	if r.code != 0 {
		t.Fatalf("substituting build: exit %d", r.code)
	}
	if strings.Contains(r.stderr, "will be built") || strings.Contains(r.stderr, "building '") {
		t.Errorf("Nix built a derivation instead of substituting:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "copying path") {
		t.Errorf("Nix's log shows no substitution:\n%s", r.stderr)
	}
	b2 := parseBuilds(t, r.stdout)[0]
	if strings.Join(b2.Outputs, " ") != strings.Join(b.Outputs, " ") || b2.Closure.Paths != b.Closure.Paths {
		t.Fatalf("substituted %v (%d paths), pushed %v (%d paths)", b2.Outputs, b2.Closure.Paths, b.Outputs, b.Closure.Paths)
	}
	verifyExport(t, dir2, hashes)

	// A key that did not sign the cache: Nix refuses every path.
	_, otherPub := keyPair(t, dir, "nixcross-it-other-1")
	r = nixcross(t, workdir(t), nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--no-cache", "--option", "max-jobs", "0",
		"--substituter", "file://" + cache, "--trusted-key", otherPub}, offline...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "not signed by any of the keys") || !strings.Contains(r.stderr, "Hint: Nix refused paths from a substituter") {
		t.Fatalf("wrong key: exit %d, want 1 with the refusal explained", r.code)
	}
}

// TestPushFailureKeepsResult: a store that cannot be written fails the
// run with exit 1 naming it, and the built result is still exported.
func TestPushFailureKeepsResult(t *testing.T) {
	dir := workdir(t)
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "x86_64-linux",
		"--push", "ssh-ng://nobody@nixcross-no-such-host.invalid"}, offline...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "push to ssh-ng://nobody@nixcross-no-such-host.invalid: failed to start SSH connection") {
		t.Fatalf("exit %d, want 1 naming the store", r.code)
	}
	if _, err := os.Stat(filepath.Join(dir, "result")); err != nil {
		t.Fatalf("the result is gone after a failed push: %v", err)
	}
}

// TestPushSSHNG: --push ssh-ng:// copies the signed closure into another
// machine's store over ssh with --builders-ssh-key: refused (and
// explained) while that store does not trust the key, accepted once it
// does; Nix there lists the result as valid, with our signature.
func TestPushSSHNG(t *testing.T) {
	ctx := context.Background()
	remote, ip, sshKey, knownHosts := sshNixMachine(t)
	dir := workdir(t)
	sec, pub := keyPair(t, dir, "nixcross-it-ssh-1")
	// A store accepts only what a key it trusts signed: first without.
	args := append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json",
		"--push", "ssh-ng://root@" + ip, "--builders-ssh-key", sshKey, "--builders-known-hosts", knownHosts, "--sign-key", sec}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "lacks a signature by a trusted key") || !strings.Contains(r.stderr, "Hint: the store accepts only paths signed by a key it trusts") {
		t.Fatalf("push to a store that does not trust the key: exit %d", r.code)
	}
	if code, _, err := remote.Exec(ctx, []string{"sh", "-c", "echo 'extra-trusted-public-keys = " + pub + "' >> /etc/nix/nix.conf"}); err != nil || code != 0 {
		t.Fatalf("trust the key on the remote: exit %d, %v", code, err)
	}
	r = nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("ssh-ng push: exit %d", r.code)
	}
	if strings.Contains(r.stderr+r.stdout, "PRIVATE KEY") || strings.Contains(r.stderr+r.stdout, secretOf(t, sec)) {
		t.Fatal("a private key was printed")
	}
	outs := parseBuilds(t, r.stdout)[0].Outputs
	code, reader, err := remote.Exec(ctx, []string{"nix", "--extra-experimental-features", "nix-command", "path-info", "--sigs", outs[0]})
	var out strings.Builder
	if reader != nil {
		io.Copy(&out, reader)
	}
	if err != nil || code != 0 || !strings.Contains(out.String(), "nixcross-it-ssh-1:") {
		t.Fatalf("%s in the remote store: exit %d, %v\n%s", outs[0], code, err, out.String())
	}
}

// secretOf is the base64 part of a secret key file.
func secretOf(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := strings.Cut(strings.TrimSpace(string(b)), ":")
	return secret
}
