package build

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

func store(t *testing.T, url string) Store {
	t.Helper()
	s, err := ParseStore("--push", url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pushScripts are the push scripts run in c, in order.
func pushScripts(c *fakeContainer) []string {
	var out []string
	for _, cmd := range c.cmds {
		if len(cmd) > 3 && cmd[3] == "nix-push" {
			out = append(out, cmd[2])
		}
	}
	return out
}

// TestPush: after a good build, each store gets the result in turn, a
// host directory through a writable mount handed to the user afterwards,
// signed with the key copied in for the run; a failing store is exit 1
// naming it, with the exported result in place.
func TestPush(t *testing.T) {
	flake, out := flakeDir(t)
	cacheDir := t.TempDir()
	key := filepath.Join(t.TempDir(), "k.sec")
	os.WriteFile(key, []byte("k:secret\n"), 0o600)

	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	r.CacheOwner = &hoststore.Owner{UID: 1000, GID: 100}
	req := request(t, out)
	req.Push = []Store{store(t, "file://"+cacheDir+"?compression=zstd"), store(t, "ssh-ng://me@box")}
	req.PushWhat, req.SignKey, req.BuildersSSHKey = PushClosure, key, key
	// Nix copies the path to the directory; the server already has it.
	d.push = func(c *fakeContainer, cmd []string) (string, int) {
		if strings.Contains(cmd[2], "file://") {
			return "copying 1 paths...\ncopying path '" + storePath + "' to 'file:///run/nixcross/push/0'...\n", 0
		}
		return "", 0
	}
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	c := d.made()[0]
	if !slices.Contains(c.mounts, "bind:"+cacheDir+":/run/nixcross/push/0") {
		t.Errorf("no writable mount of the cache directory: %v", c.mounts)
	}
	if !slices.ContainsFunc(c.cmds, func(cmd []string) bool { return len(cmd) == 5 && cmd[3] == "put-secret" && cmd[4] == signKeyPath }) {
		t.Errorf("signing key not installed on the secrets tmpfs: %q", c.cmds)
	}
	scripts := pushScripts(c)
	if len(scripts) != 2 ||
		!strings.Contains(scripts[0], "--to 'file:///run/nixcross/push/0?compression=zstd'") || !strings.Contains(scripts[0], "--key-file '/run/nixcross/keys/sign.sec'") || !strings.Contains(scripts[0], "chown -R '1000:100' '/run/nixcross/push/0'") ||
		!strings.Contains(scripts[1], "--to 'ssh-ng://me@box'") || strings.Contains(scripts[1], "chown") {
		t.Fatalf("push scripts:\n%s", strings.Join(scripts, "\n---\n"))
	}
	for i, cmd := range c.cmds {
		if len(cmd) > 3 && cmd[3] == "nix-push" && strings.Contains(cmd[2], "ssh-ng://") && !slices.ContainsFunc(c.envs[i], func(e string) bool {
			return strings.HasPrefix(e, "NIX_SSHOPTS=-i "+builderKeyPath)
		}) {
			t.Errorf("the ssh-ng push does not use the ssh key: env %q", c.envs[i])
		}
	}
	narSize := int64(len(d.nar))
	want := []PushStats{{Store: "file://" + cacheDir + "?compression=zstd", Paths: 1, Bytes: narSize, Copied: 1}, {Store: "ssh-ng://me@box", Paths: 1, Bytes: narSize}}
	if !slices.Equal(results[0].Pushed, want) {
		t.Errorf("pushed %+v, want %+v", results[0].Pushed, want)
	}

	// The second store refuses: exit 1 naming it, the result stays.
	d = newDaemon()
	d.succeed()
	d.push = func(c *fakeContainer, cmd []string) (string, int) {
		if strings.Contains(cmd[2], "ssh-ng://") {
			return "error: cannot connect to 'me@box'\n", 1
		}
		return "", 0
	}
	r, _, _ = d.runner()
	results, err = r.Run(context.Background(), req, localFlake(flake))
	if status.ExitCode(err) != status.ExitBuild || err.Error() != "push to ssh-ng://me@box: cannot connect to 'me@box'" {
		t.Fatalf("err = %v (exit %d)", err, status.ExitCode(err))
	}
	if _, lerr := os.Lstat(req.OutLink); lerr != nil || results[0].Link == "" || len(results[0].Pushed) != 1 {
		t.Errorf("after a failed push: link %v, result %+v", lerr, results[0])
	}

	// A store that does not trust the key: the hint says what to trust.
	d.push = func(c *fakeContainer, cmd []string) (string, int) {
		return "error: cannot add path '" + storePath + "' because it lacks a signature by a trusted key\n", 1
	}
	_, err = r.Run(context.Background(), req, localFlake(flake))
	if hint := status.HintOf(err); !strings.Contains(hint, "--sign-key") || !strings.Contains(hint, "trusted-public-keys") {
		t.Errorf("hint for an untrusted push: %q", hint)
	}

	// Nix's own refusals, as Nix 2.26 prints them, get their hints.
	for _, c := range []struct{ log, hint string }{
		{"error: unable to download 'https://cache.example.org/nix-cache-info': HTTP error 401", "netrc-file"},
		{"error: unable to download 'https://cache.example.org/nix-cache-info': HTTP error 403", "netrc-file"},
		{"error: don't know how to open Nix store with scheme 's3'", "--to-cache DIR"},
	} {
		d.push = func(*fakeContainer, []string) (string, int) { return c.log + "\n", 1 }
		_, err = r.Run(context.Background(), req, localFlake(flake))
		if status.ExitCode(err) != status.ExitBuild || !strings.Contains(status.HintOf(err), c.hint) {
			t.Errorf("%s: exit %d, hint %q", c.log, status.ExitCode(err), status.HintOf(err))
		}
	}
}

// TestPushCredentials: the push runs with the build's forwarded
// credentials (a netrc for an https store) and the user's --option
// settings (an ssl-cert-file), as the build itself does; the AWS
// variables reach the s3:// push only.
func TestPushCredentials(t *testing.T) {
	flake, out := flakeDir(t)
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine cache.example.org login ci password secret\n"), 0o600)
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	req := request(t, out)
	req.Push = []Store{store(t, "https://cache.example.org"), store(t, "s3://bucket")}
	req.Nix.Options = []nix.Option{{Name: "ssl-cert-file", Value: "/src/ca.pem"}}
	req.Forward = &Forwarded{Nix: nix.Credentials{NetrcFile: netrc}, AWS: []string{"AWS_ACCESS_KEY_ID=AKIA"}}
	d.storeTypes = nix.S3StoreName
	if _, err := r.Run(context.Background(), req, localFlake(flake)); err != nil {
		t.Fatal(err)
	}
	c := d.made()[0]
	pushed := false
	for i, cmd := range c.cmds {
		if len(cmd) > 3 && cmd[3] == "nix-push" {
			pushed = true
			if !strings.Contains(cmd[2], "--option 'ssl-cert-file' '/src/ca.pem'") {
				t.Errorf("push script without the user's option: %s", cmd[2])
			}
			if !slices.Contains(c.envs[i], "NIX_CONFIG="+nixConfig(false)+"\ninclude "+credentialsConf) {
				t.Errorf("push env without the forwarded netrc: %q", c.envs[i])
			}
			// AWS credentials go to the S3 store alone.
			if s3 := strings.Contains(cmd[2], "s3://"); slices.Contains(c.envs[i], "AWS_ACCESS_KEY_ID=AKIA") != s3 {
				t.Errorf("push to s3 %v: env %q", s3, c.envs[i])
			}
		}
	}
	if !pushed {
		t.Fatal("nothing was pushed")
	}
}

// TestSubstituters: a host directory is mounted read-only and added to
// Nix's substituters with the trusted keys, after the user's options.
func TestSubstituters(t *testing.T) {
	flake, out := flakeDir(t)
	cacheDir := t.TempDir()
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	req := request(t, out)
	req.Substituters = []Store{store(t, "file://"+cacheDir), store(t, "https://cache.example.org")}
	req.TrustedKeys = []string{"k:AAAA"}
	if _, err := r.Run(context.Background(), req, localFlake(flake)); err != nil {
		t.Fatal(err)
	}
	c := d.made()[0]
	if !slices.Contains(c.mounts, "bind:"+cacheDir+":/run/nixcross/substituters/0") {
		t.Errorf("mounts %v", c.mounts)
	}
	if ro := c.opts.HostConfig.Mounts[len(c.opts.HostConfig.Mounts)-1]; ro.Target != "/run/nixcross/substituters/0" || !ro.ReadOnly {
		t.Errorf("substituter mount %+v is not read-only", ro)
	}
	build := ""
	for _, cmd := range c.cmds {
		if len(cmd) > 3 && cmd[3] == "nix-build" {
			build = strings.Join(cmd, " ")
		}
	}
	if !strings.Contains(build, "--option extra-substituters file:///run/nixcross/substituters/0 https://cache.example.org --option extra-trusted-public-keys k:AAAA") {
		t.Errorf("build command %s", build)
	}
}

// TestCopyWatch: Nix's "copying path" lines, however the stream is cut,
// count the paths copied and move the bar by the NAR bytes of those done;
// every line still reaches the log.
func TestCopyWatch(t *testing.T) {
	const a, b = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b"
	log := "copying 2 paths...\ncopying path '" + a + "' to 'file:///c'...\ncopying path '" + b + "' to 'file:///c'...\n"
	for _, cut := range []int{1, 7, len(log)} {
		var out bytes.Buffer
		logw := ui.New(&out, ui.Options{}).Lines("", true)
		cw := newCopyWatch(closure.Closure{{Path: a, NarSize: 10}, {Path: b, NarSize: 20}}, (*ui.Reporter)(nil).Progress("push", 30))
		logw.OnLine = cw.line
		for rest := log; rest != ""; {
			n := min(cut, len(rest))
			logw.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		logw.Flush()
		cw.done()
		if cw.copied != 2 || cw.bytes != 10 || cw.current != b || out.String() != log {
			t.Errorf("cut %d: copied %d, %d bytes done, current %s, log %q", cut, cw.copied, cw.bytes, cw.current, out.String())
		}
	}
}

// TestPushFileRemote: a remote daemon cannot mount a host directory:
// Nix writes a file:// push inside the build container and the cache is
// copied out through the API into the directory; a file:// substituter
// is copied in.
func TestPushFileRemote(t *testing.T) {
	flake, out := flakeDir(t)
	cacheDir := t.TempDir()
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	r.Engine.Endpoint = engine.Endpoint{Host: "tcp://10.0.0.5:2376"}
	r.CacheOwner = &hoststore.Owner{UID: os.Getuid(), GID: os.Getgid()}
	var archived []string
	r.Engine.API.(*engine.Fake).CopyFromContainerFunc = func(ctx context.Context, id string, o client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
		archived = append(archived, o.SourcePath)
		return client.CopyFromContainerResult{Content: io.NopCloser(cacheTar(t, "0", map[string]string{
			"nix-cache-info": "StoreDir: /nix/store\n", "abc.narinfo": "StorePath: x\n", "nar/abc.nar.xz": "nar",
		}))}, nil
	}
	req := request(t, out)
	req.Push = []Store{store(t, "file://"+cacheDir)}
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	c := d.made()[0]
	if hasMount(c, "bind") {
		t.Errorf("a remote daemon was asked to bind-mount: %v", c.mounts)
	}
	scripts := pushScripts(c)
	if len(scripts) != 1 || !strings.Contains(scripts[0], "--to 'file:///var/cache/nixcross/push/0'") || strings.Contains(scripts[0], "chown") {
		t.Fatalf("push scripts:\n%s", strings.Join(scripts, "\n---\n"))
	}
	if !slices.Equal(archived, []string{"/var/cache/nixcross/push/0"}) {
		t.Errorf("copied out %v, want the push directory", archived)
	}
	if b, err := os.ReadFile(filepath.Join(cacheDir, "nar", "abc.nar.xz")); err != nil || string(b) != "nar" {
		t.Errorf("the cache's NAR on the host: %q, %v", b, err)
	}
	if len(results[0].Pushed) != 1 || results[0].Pushed[0].Store != "file://"+cacheDir {
		t.Errorf("pushed %+v", results[0].Pushed)
	}

	// A file:// substituter is copied in, whole, and Nix reads the copy.
	d = newDaemon()
	d.succeed()
	r, _, _ = d.runner()
	r.Engine.Endpoint = engine.Endpoint{Host: "tcp://10.0.0.5:2376"}
	req = request(t, out)
	req.Substituters = []Store{store(t, "https://cache.example.org"), store(t, "file://"+cacheDir)}
	if _, err = r.Run(context.Background(), req, localFlake(flake)); err != nil {
		t.Fatal(err)
	}
	c = d.made()[0]
	if hasMount(c, "bind") || !slices.Contains(c.copied, "/var/cache/nixcross/substituters/1") {
		t.Errorf("the substituter was not copied in: mounts %v, copied to %v", c.mounts, c.copied)
	}
	for _, cmd := range c.cmds {
		if line := strings.Join(cmd, " "); len(cmd) > 3 && cmd[3] == "nix-build" && !strings.Contains(line, "--option extra-substituters https://cache.example.org file:///var/cache/nixcross/substituters/1") {
			t.Errorf("build command %s", line)
		}
	}
}

// cacheTar is the daemon's tar of a directory named top holding files.
func cacheTar(t *testing.T, top string, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: top + "/nar/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, name := range slices.Sorted(maps.Keys(files)) {
		tw.WriteHeader(&tar.Header{Name: top + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[name]))})
		tw.Write([]byte(files[name]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestParseStore(t *testing.T) {
	wd, _ := os.Getwd()
	for _, c := range []struct{ in, url, dir string }{
		{"file:///srv/cache", "file:///srv/cache", "/srv/cache"},
		{"file://cache?compression=zstd", "file://" + wd + "/cache?compression=zstd", wd + "/cache"},
		{"ssh-ng://me@box", "ssh-ng://me@box", ""},
		{"s3://bucket?region=eu-west-1", "s3://bucket?region=eu-west-1", ""},
	} {
		s, err := ParseStore("--push", c.in)
		if err != nil || s.URL != c.url || s.HostDir != c.dir {
			t.Errorf("ParseStore(%q) = %+v, %v", c.in, s, err)
		}
	}
	for _, bad := range []string{"", "/srv/cache", "file://", "cache.example.org"} {
		if _, err := ParseStore("--push", bad); status.ExitCode(err) != status.ExitUsage {
			t.Errorf("ParseStore(%q) accepted", bad)
		}
	}
}
