//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nix-community/go-nix/pkg/nixhash"
)

type jsonPushed struct {
	Builds []pushedResult `json:"builds"`
}

type pushedResult struct {
	Outputs []string `json:"outputs"`
	Closure struct {
		Paths int `json:"paths"`
	} `json:"closure"`
	Pushed []struct {
		Store  string `json:"store"`
		Paths  int    `json:"paths"`
		Bytes  int64  `json:"bytes"`
		Copied int    `json:"copied"`
	} `json:"pushed"`
}

// pushedBuild is the one build of a --json document, with what it pushed.
func pushedBuild(t *testing.T, stdout string) pushedResult {
	t.Helper()
	var doc jsonPushed
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	if len(doc.Builds) != 1 {
		t.Fatalf("%d builds in the JSON document, want 1", len(doc.Builds))
	}
	return doc.Builds[0]
}

// ownedBy fails t for each entry under dir that uid does not own.
func ownedBy(t *testing.T, dir string, uid int) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s belongs to uid %d, want the sudo user %d", p, fi.Sys().(*syscall.Stat_t).Uid, uid)
		}
		return nil
	})
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
// from that cache, builds no derivation, and exports the same NAR hashes,
// also through a daemon over TCP (the cache copied in); with a key that
// did not sign the cache, Nix refuses the paths and the failure says why.
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
	b := pushedBuild(t, r.stdout)
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
	ownedBy(t, cache, uid)
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

	// The same through a daemon over TCP, which cannot mount the
	// directory: nixcross copies the cache into the build container.
	dir3 := workdir(t)
	r = nixcross(t, dir3, []string{"DOCKER_HOST=" + tcpDaemon(t)}, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json", "--no-cache", "--option", "max-jobs", "0",
		"--substituter", "file://" + cache, "--trusted-key", pub}, offline...)...)
	if r.code != 0 || !strings.Contains(r.stderr, "copy substituter "+cache) || strings.Contains(r.stderr, "will be built") {
		t.Fatalf("substituting through a remote daemon: exit %d, want the cache copied in and nothing built", r.code)
	}
	verifyExport(t, dir3, hashes)

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

// hostNix runs the host's Nix (Debian's nix-bin, installed by
// scripts/provision.sh) with nix-command on and a HOME of its own, so no
// user configuration or narinfo disk cache of an earlier run takes part.
// It returns Nix's stdout and its log (stderr).
func hostNix(t *testing.T, args ...string) (stdout, log string, err error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("nix", append([]string{"--extra-experimental-features", "nix-command", "--option", "build-users-group", ""}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "NIX_CONFIG=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// refusedUnsigned says whether Nix's log refuses a path for its
// signatures (Nix 2.8 says "lacks a valid signature", newer Nix "lacks a
// signature by a trusted key").
func refusedUnsigned(log string) bool {
	return strings.Contains(log, "because it lacks a valid signature") || strings.Contains(log, "because it lacks a signature by a trusted key")
}

// sameHash says whether two of Nix's hash strings (base32, base16 or SRI:
// Nix 2.8 and the builder image's Nix print them differently) are equal.
func sameHash(t *testing.T, a, b string) bool {
	t.Helper()
	ha, err := nixhash.ParseAny(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := nixhash.ParseAny(b, nil)
	if err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return string(ha.Digest()) == string(hb.Digest())
}

// TestToCacheHostNix: a --to-cache directory is a cache that a machine
// with its own Nix (the host's, Nix 2.8 from Debian) copies from with
// signature checking on: into a fresh store, trusting the generated key,
// the closure arrives valid with our signature and the exported NAR
// hashes; trusting another key, or with the signatures stripped, Nix
// refuses the copy.
func TestToCacheHostNix(t *testing.T) {
	if _, err := exec.LookPath("nix"); err != nil {
		t.Skip("no nix on the host: scripts/provision.sh installs Debian's nix-bin")
	}
	dir := workdir(t)
	sec, pub := keyPair(t, dir, "nixcross-it-host-1")
	toCache := filepath.Join(dir, "cache")
	r := nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux", "--json",
		"--sign-key", sec, "--to-cache", toCache}, offline...)...)
	if r.code != 0 {
		t.Fatalf("build --to-cache: exit %d", r.code)
	}
	b := pushedBuild(t, r.stdout)
	out := b.Outputs[0]
	if p := b.Pushed; len(p) != 1 || p[0].Copied != b.Closure.Paths {
		t.Fatalf("pushed %+v into a new cache, want all %d paths copied", p, b.Closure.Paths)
	}

	// copyInto copies out from cache into a fresh chroot store that trusts
	// key only; require-sigs is Nix's default and stays on.
	copyInto := func(cache, key string) (store, log string, err error) {
		store = "local?root=" + filepath.Join(t.TempDir(), "root")
		_, log, err = hostNix(t, "copy", "--option", "trusted-public-keys", key, "--option", "require-sigs", "true",
			"--from", "file://"+cache, "--to", store, out)
		return store, log, err
	}

	store, clog, err := copyInto(toCache, pub)
	if err != nil {
		t.Fatalf("host nix copy --from file://%s: %v\n%s", toCache, err, clog)
	}
	info, log, err := hostNix(t, "path-info", "--store", store, "--json", "--sigs", "--recursive", out)
	if err != nil {
		t.Fatalf("path-info in the host store: %v\n%s", err, log)
	}
	var paths []struct {
		Path       string   `json:"path"`
		NarHash    string   `json:"narHash"`
		Signatures []string `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(info), &paths); err != nil {
		t.Fatalf("path-info JSON: %v\n%s", err, info)
	}
	want := nixPathInfo(t, b.Outputs)
	if len(paths) != len(want) || len(paths) != b.Closure.Paths {
		t.Fatalf("host store holds %d paths of the closure, the build reported %d", len(paths), b.Closure.Paths)
	}
	for _, p := range paths {
		if !sameHash(t, p.NarHash, want[p.Path]) {
			t.Errorf("%s: NAR hash %s in the host store, %s in the build's", p.Path, p.NarHash, want[p.Path])
		}
		if !slices.ContainsFunc(p.Signatures, func(s string) bool { return strings.HasPrefix(s, "nixcross-it-host-1:") }) {
			t.Errorf("%s arrived without our signature: %v", p.Path, p.Signatures)
		}
	}

	// Trusting another key: refused.
	_, otherPub := keyPair(t, dir, "nixcross-it-host-other-1")
	if _, log, err := copyInto(toCache, otherPub); err == nil || !refusedUnsigned(log) {
		t.Fatalf("copy trusting another key: %v, want a refusal\n%s", err, log)
	}

	// The same cache with its signatures stripped: refused even trusting ours.
	unsigned := filepath.Join(dir, "unsigned")
	if err := os.CopyFS(unsigned, os.DirFS(toCache)); err != nil {
		t.Fatal(err)
	}
	narinfos, _ := filepath.Glob(filepath.Join(unsigned, "*.narinfo"))
	for _, n := range narinfos {
		text, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.Split(string(text), "\n") {
			if !strings.HasPrefix(line, "Sig: ") {
				kept = append(kept, line)
			}
		}
		if err := os.WriteFile(n, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(narinfos) == 0 {
		t.Fatal("no narinfo files to strip")
	}
	if _, log, err := copyInto(unsigned, pub); err == nil || !refusedUnsigned(log) {
		t.Fatalf("copy of an unsigned cache: %v, want a refusal\n%s", err, log)
	}

	// Pushing again: the cache has every path, Nix copies none.
	r = nixcross(t, dir, nil, append([]string{"build", fixtureDir, "--system", "aarch64-linux",
		"--sign-key", sec, "--to-cache", toCache}, offline...)...)
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("(0 copied, %d already there)", b.Closure.Paths)) {
		t.Fatalf("second push: exit %d, want a summary saying every path was already there", r.code)
	}
}

// TestRemoteToCache: with a daemon over tcp:// that cannot see the
// directory, --to-cache still writes the cache there: Nix writes it in
// the build container and nixcross copies it out through the API, handed
// to the sudo user.
func TestRemoteToCache(t *testing.T) {
	const uid = 4242
	r := buildHidden(t, []string{"DOCKER_HOST=" + tcpDaemon(t), "SUDO_UID=4242", "SUDO_GID=4242"}, hiddenBuild("--to-cache", "./cache")...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	b := pushedBuild(t, r.stdout)
	if len(b.Pushed) != 1 || !strings.HasSuffix(b.Pushed[0].Store, "/cache") || b.Pushed[0].Paths != b.Closure.Paths || b.Pushed[0].Copied != b.Closure.Paths {
		t.Fatalf("pushed %+v, closure %d paths", b.Pushed, b.Closure.Paths)
	}
	cache := filepath.Join(r.out, "cache")
	if _, err := os.Stat(filepath.Join(cache, "nix-cache-info")); err != nil {
		t.Fatalf("no binary cache came back: %v", err)
	}
	if narinfos, _ := filepath.Glob(filepath.Join(cache, "*.narinfo")); len(narinfos) != b.Closure.Paths {
		t.Errorf("%d narinfo files, the closure has %d paths", len(narinfos), b.Closure.Paths)
	}
	if nars, _ := filepath.Glob(filepath.Join(cache, "nar", "*.nar*")); len(nars) != b.Closure.Paths {
		t.Errorf("%d NARs, the closure has %d paths", len(nars), b.Closure.Paths)
	}
	ownedBy(t, cache, uid)
	// The daemon really could not have mounted the directory.
	if entries, err := os.ReadDir(r.dir); err != nil || len(entries) != 0 {
		t.Fatalf("%s is visible outside the namespace (%d entries, %v): the test proves nothing", r.dir, len(entries), err)
	}
}
