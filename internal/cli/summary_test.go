package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/ui"
)

// TestSummaryGolden pins the per-build summary off a terminal: plain
// lines, no ANSI escapes.
func TestSummaryGolden(t *testing.T) {
	var buf bytes.Buffer
	rep := ui.New(&buf, ui.Options{})
	emulated := &build.Result{
		System: "aarch64-linux", Flake: ".", Attr: "default",
		Outputs:  []string{"/nix/store/j7d6ibwhij728scdjavfmkbnp6c5nfx0-hello"},
		Link:     "result",
		Closure:  build.ClosureStats{Paths: 2, NarBytes: 1902136},
		Copied:   build.CopyStats{Paths: 1, Bytes: 1901824},
		Machines: []string{"aarch64"},
		Seconds:  3.14,
		Deref:    "result-deref",
		Pushed:   []build.PushStats{{Store: "file:///srv/cache", Paths: 2, Bytes: 1902136, Copied: 1}},
	}
	native := &build.Result{
		System: "x86_64-linux", Outputs: []string{"/nix/store/ajzdjvdskfw2nplmizg4zmrp3jm5jzvb-hello"}, Link: "result-x86_64-linux",
		Closure: build.ClosureStats{Paths: 2, NarBytes: 1902136}, Native: true, Seconds: 0.8, Machines: []string{"x86_64"},
		Rebuild: &build.Rebuild{Reproducible: true}, Sandboxed: true,
		Copied: build.CopyStats{Paths: 1, Bytes: 4096, Checked: 1, Replaced: 1},
	}
	printSummary(rep, emulated)
	printSummary(rep, native)
	// The tip once per run, after every summary.
	emulationTip(rep, []*build.Result{emulated, native, emulated})
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatal("ANSI escape in non-terminal output")
	}
	golden(t, "summary.golden", buf.String())
}
