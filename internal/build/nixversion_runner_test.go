package build

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestNixVersionStage: the image's Nix is read once per run, whatever the
// number of systems, lands in each result, and a Nix too old stops the
// run before anything builds.
func TestNixVersionStage(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	req := request(t, out, sys(t, "x86_64-linux"), sys(t, "i686-linux"))
	results, err := r.Run(context.Background(), req, localFlake(flake))
	if err != nil {
		t.Fatal(err)
	}
	if d.versionReads != 1 || results[0].Nix != "2.26.3" || results[1].Nix != "2.26.3" {
		t.Errorf("version read %d times, results say %q %q", d.versionReads, results[0].Nix, results[1].Nix)
	}

	d = newDaemon()
	d.succeed()
	d.nixVersion = "nix (Nix) 2.8.0\n"
	r, _, _ = d.runner()
	_, err = r.Run(context.Background(), request(t, out), localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "2.8.0") {
		t.Fatalf("err = %v, want an environment error naming Nix 2.8.0", err)
	}
	for _, c := range d.made() {
		for _, cmd := range c.cmds {
			if len(cmd) > 3 && cmd[3] == "nix-build" {
				t.Error("built with a Nix too old")
			}
		}
		if !c.removed {
			t.Error("container left behind")
		}
	}
}

// TestEmulatedNixSettings: an image for another CPU runs Nix itself under
// QEMU, so the build turns off Nix's syscall filter; the user's --option
// comes after it.
func TestEmulatedNixSettings(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		flake, out := flakeDir(t)
		d := newDaemon()
		d.succeed()
		d.imageArch = arch
		r, _, _ := d.runner()
		if _, err := r.Run(context.Background(), request(t, out), localFlake(flake)); err != nil {
			t.Fatal(err)
		}
		var build []string
		for _, cmd := range d.made()[0].cmds {
			if len(cmd) > 3 && cmd[3] == "nix-build" {
				build = cmd
			}
		}
		i := slices.Index(build, "filter-syscalls")
		if off := i > 0 && build[i-1] == "--option" && build[i+1] == "false"; off != (arch == "arm64") {
			t.Errorf("%s image: filter-syscalls off = %v in %q", arch, off, build)
		}
	}
}

// TestS3PushNeedsS3Nix: a --push to s3:// with an image whose Nix has no
// S3 store (Debian's) stops before the build with exit 3 and the way
// round it; a Nix that lists the S3 store builds; other pushes never ask.
func TestS3PushNeedsS3Nix(t *testing.T) {
	for _, c := range []struct {
		store, types string
		wantErr      bool
	}{
		{"s3://bucket?region=eu-west-1", "", true},
		{"s3://bucket", "  · HTTP Binary Cache Store\n  · S3 Binary Cache Store\n", false},
		{"https://cache.example.org", "", false},
	} {
		flake, out := flakeDir(t)
		d := newDaemon()
		d.succeed()
		d.storeTypes = c.types
		r, _, _ := d.runner()
		req := request(t, out)
		req.Push = []Store{store(t, c.store)}
		_, err := r.Run(context.Background(), req, localFlake(flake))
		if (err != nil) != c.wantErr {
			t.Fatalf("%s: err = %v", c.store, err)
		}
		built, asked := false, false
		for _, cmd := range d.made()[0].cmds {
			built = built || len(cmd) > 3 && cmd[3] == "nix-build"
			asked = asked || slices.Equal(cmd, []string{"nix", "help-stores"})
		}
		if c.wantErr && (status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "without S3 support") || !strings.Contains(status.HintOf(err), "--to-cache") || built) {
			t.Errorf("%s: err %v (exit %d, hint %q), built %v", c.store, err, status.ExitCode(err), status.HintOf(err), built)
		}
		if asked != strings.HasPrefix(c.store, "s3://") {
			t.Errorf("%s: nix help-stores ran: %v", c.store, asked)
		}
	}
}
