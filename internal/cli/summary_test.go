package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/image"
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
		Emulator: build.EmulatorNixcross, QEMUCPU: "cortex-a72",
		Seconds: 3.14,
		Deref:   "result-deref",
		Pushed:  []build.PushStats{{Store: "file:///srv/cache", Paths: 2, Bytes: 1902136, Copied: 1}},
	}
	native := &build.Result{
		System: "x86_64-linux", Outputs: []string{"/nix/store/ajzdjvdskfw2nplmizg4zmrp3jm5jzvb-hello"}, Link: "result-x86_64-linux",
		Closure: build.ClosureStats{Paths: 2, NarBytes: 1902136}, Native: true, Seconds: 0.8, Machines: []string{"x86_64"},
		Rebuild: &build.Rebuild{Reproducible: true}, Sandboxed: true,
		Copied: build.CopyStats{Paths: 1, Bytes: 4096, Checked: 1, Replaced: 1},
		Image: &build.Image{Digest: "sha256:4b865733ae6dc2f28a7038e08aa33e3ab42e8e45e54d81cea5b2bea3f7c974af", Platform: "linux/amd64",
			Entrypoint: "/nix/store/ajzdjvdskfw2nplmizg4zmrp3jm5jzvb-hello/bin/hello", Layers: 3, Loaded: "app:1-x86_64-linux"},
	}
	printSummary(rep, emulated)
	printSummary(rep, native)
	tag, _ := image.ParseTag("app:1")
	printShipped(rep, build.Ship{Tag: tag, Ref: "app:1", Load: true, LayoutDir: "/home/me/oci"}, &build.Shipped{
		Ref: "app:1", Digest: "sha256:37e9aa297ca0904678ac34c436584fb1f3b5f9dda38a97fcd802ac6637b85b05", Layout: "/home/me/oci",
		Loaded: []string{"app:1-aarch64-linux", "app:1-x86_64-linux"},
	})
	printShipped(rep, build.Ship{Tag: tag, Ref: "app:1"}, &build.Shipped{Ref: "app:1", Digest: "sha256:37e9aa297ca0904678ac34c436584fb1f3b5f9dda38a97fcd802ac6637b85b05"})
	// The tip once per run, after every summary.
	emulationTip(rep, []*build.Result{emulated, native, emulated})
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatal("ANSI escape in non-terminal output")
	}
	golden(t, "summary.golden", buf.String())
}
