package build

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/nix"
)

// TestSecretsNeverOnACommandLine: an access token given with --option,
// with nothing forwarded (--no-forward-credentials), reaches Nix through
// the root-only credentials file NIX_CONFIG includes, for the build and
// the push alike, and is in no command's arguments or environment: any
// process in the container, a builder too, reads those.
func TestSecretsNeverOnACommandLine(t *testing.T) {
	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	r, _, _ := d.runner()
	req := request(t, out)
	req.Secrets = []nix.Option{{Name: "access-tokens", Value: "github.com=ghp_SECRET"}}
	req.Push = []Store{store(t, "https://cache.example.org")}
	if _, err := r.Run(context.Background(), req, localFlake(flake)); err != nil {
		t.Fatal(err)
	}
	c := d.made()[0]
	installed, built, pushed := false, false, false
	for i, cmd := range c.cmds {
		if len(cmd) == 5 && cmd[3] == "put-secret" && cmd[4] == credentialsConf {
			installed = true
		}
		if slices.ContainsFunc(cmd, func(a string) bool { return strings.Contains(a, "SECRET") }) || slices.ContainsFunc(c.envs[i], func(e string) bool { return strings.Contains(e, "SECRET") }) {
			t.Errorf("the token in %q (env %q)", cmd, c.envs[i])
		}
		if len(cmd) > 3 && (cmd[3] == "nix-build" || cmd[3] == "nix-push") {
			if !slices.Contains(c.envs[i], "NIX_CONFIG="+nixConfig(false)+"\ninclude "+credentialsConf) {
				t.Errorf("%s without the credentials file: %q", cmd[3], c.envs[i])
			}
			built, pushed = built || cmd[3] == "nix-build", pushed || cmd[3] == "nix-push"
		}
	}
	if !installed || !built || !pushed {
		t.Errorf("credentials installed %v, build %v, push %v", installed, built, pushed)
	}
}
