package build

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestRebuild: --rebuild runs Nix's --rebuild after the export; a second
// build that differs fails with exit 1 naming what differs (from the NAR
// listings of both builds), and the kept .check copy goes unless
// --keep-failed asked to keep it; a rebuild that fails otherwise is
// classified like any build.
func TestRebuild(t *testing.T) {
	const check = storePath + ".check"
	differs := "checking outputs of '/nix/store/x.drv'...\nerror: derivation '/nix/store/x.drv' may not be deterministic: output '" + storePath + "' differs from '" + check + "'\n"
	cases := []struct {
		name        string
		rebuild     func(*fakeContainer) (string, int)
		keep        bool
		wantExit    int
		wantVerdict *Rebuild
		wantRemoved bool // the .check copy
	}{
		{"reproducible", nil, false, 0, &Rebuild{Reproducible: true}, false},
		{"differs", func(*fakeContainer) (string, int) { return differs, 1 }, false, status.ExitBuild,
			&Rebuild{Output: storePath, Differing: []string{storePath}}, true},
		{"differs, keep-failed", func(*fakeContainer) (string, int) { return differs, 1 }, true, status.ExitBuild,
			&Rebuild{Output: storePath, Differing: []string{storePath}}, false},
		{"rebuild fails", func(*fakeContainer) (string, int) {
			return "error: builder for '/nix/store/x.drv' failed with exit code 1\n", 1
		}, false, status.ExitBuild, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			d.succeed()
			d.dumps = map[string][]byte{storePath: d.nar, check: narOfFile("hello at 12:00\n")}
			d.rebuild = c.rebuild
			r, _, _ := d.runner()
			req := request(t, out)
			req.Rebuild = true
			req.Nix.KeepFailed = c.keep
			results, err := r.Run(context.Background(), req, localFlake(flake))
			if got := status.ExitCode(err); got != c.wantExit {
				t.Fatalf("exit %d (%v), want %d", got, err, c.wantExit)
			}
			res := results[0]
			switch {
			case c.wantVerdict == nil && res.Rebuild != nil:
				t.Errorf("verdict %+v after a failed rebuild", res.Rebuild)
			case c.wantVerdict != nil && (res.Rebuild == nil || res.Rebuild.Reproducible != c.wantVerdict.Reproducible ||
				res.Rebuild.Output != c.wantVerdict.Output || !slices.Equal(res.Rebuild.Differing, c.wantVerdict.Differing)):
				t.Errorf("verdict %+v, want %+v", res.Rebuild, c.wantVerdict)
			}
			if res.Link == "" {
				t.Error("the first build was not exported")
			}
			m := d.made()[0]
			ran := func(prefix ...string) bool {
				return slices.ContainsFunc(m.cmds, func(cmd []string) bool { return len(cmd) >= len(prefix) && slices.Equal(cmd[:len(prefix)], prefix) })
			}
			if !ran("nix", "build", "--rebuild") {
				t.Errorf("no nix build --rebuild in %q", m.cmds)
			}
			if got := ran("rm", "-rf", check); got != c.wantRemoved {
				t.Errorf("removed %s: %v, want %v", check, got, c.wantRemoved)
			}
			if c.wantExit != 0 && c.wantVerdict != nil && !strings.Contains(err.Error(), "is not reproducible") {
				t.Errorf("error %q does not say why", err)
			}
			if c.keep && !strings.Contains(status.HintOf(err), "diff -r "+storePath+" "+check) {
				t.Errorf("hint %q does not show how to compare", status.HintOf(err))
			}
		})
	}
}
