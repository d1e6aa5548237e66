package cli

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/status"
)

// TestOwnNixArgs (issue 25): after --, --print-out-paths is nixcross's
// own flag; the out-link and JSON flags are refused naming nixcross's;
// everything else goes to nix build as it is.
func TestOwnNixArgs(t *testing.T) {
	rest, print, err := ownNixArgs([]string{"--show-trace", "--print-out-paths", "-L"})
	if err != nil || !print || !slices.Equal(rest, []string{"--show-trace", "-L"}) {
		t.Errorf("rest %q, print %v, %v", rest, print, err)
	}
	for _, a := range [][]string{{"-o", "foo"}, {"--out-link", "x"}, {"--out-link=x"}, {"--no-link"}, {"--json"}} {
		if _, _, err := ownNixArgs(a); status.ExitCode(err) != status.ExitUsage {
			t.Errorf("-- %q: %v, want a usage error", a, err)
		}
	}
}

// TestPrintOutPaths: one line per output of each good build, its path on
// this machine beside its out-link.
func TestPrintOutPaths(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := printOutPaths(&out, []*build.Result{
		{Link: filepath.Join(dir, "result-x86_64-linux"), Outputs: []string{"/nix/store/aaa-hello", "/nix/store/bbb-hello-man"}},
		{Link: filepath.Join(dir, "result-aarch64-linux"), Error: "failed"},
	})
	want := filepath.Join(dir, "nix/store/aaa-hello") + "\n" + filepath.Join(dir, "nix/store/bbb-hello-man") + "\n"
	if err != nil || out.String() != want {
		t.Errorf("printed %q (%v), want %q", out.String(), err, want)
	}
}
