package cli

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// buildDocument is --json's output. Error and ErrorKind say why the run
// failed, also when it failed before any build; each failed build has its
// own error too.
type buildDocument struct {
	Builds    []*build.Result `json:"builds"`
	Error     string          `json:"error,omitempty"`
	ErrorKind string          `json:"errorKind,omitempty"`
}

func writeBuildJSON(w io.Writer, results []*build.Result, err error) error {
	doc := buildDocument{Builds: results}
	if doc.Builds == nil {
		doc.Builds = []*build.Result{}
	}
	if err != nil {
		doc.Error, doc.ErrorKind = err.Error(), status.KindOf(err).String()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func printSummary(rep *ui.Reporter, r *build.Result) {
	if r == nil {
		return
	}
	if r.Err() != nil {
		rep.Printf("✗ %s: failed after %.1fs", r.System, r.Seconds)
		if r.Rebuild != nil && !r.Rebuild.Reproducible {
			rep.Printf("  rebuild  not reproducible; a second build differs in")
			for _, f := range r.Rebuild.Differing {
				rep.Printf("           %s", ui.Visible(f))
			}
		}
		return
	}
	mode := "native"
	if !r.Native {
		mode = "emulated (QEMU)"
	}
	if r.Sandboxed {
		mode += ", sandboxed"
	}
	machines := strings.Join(r.Machines, ", ")
	if machines == "" {
		machines = "no ELF files"
	}
	out := ""
	if len(r.Outputs) > 0 {
		out = r.Outputs[0]
	}
	// The output's name is the derivation's, the links' the user's: both
	// are shown, never interpreted.
	out = ui.Visible(out)
	rep.Printf("✓ %s (%s) in %.1fs\n  output   %s\n  link     %s -> nix/store/%s\n  closure  %s, %s\n  copied   %s, %s\n  machines %s",
		r.System, mode, r.Seconds, out, ui.Visible(r.Link), strings.TrimPrefix(out, "/nix/store/"),
		ui.Count(r.Closure.Paths, "path"), ui.Bytes(r.Closure.NarBytes), ui.Count(r.Copied.Paths, "path"), ui.Bytes(r.Copied.Bytes), machines)
	if r.Copied.Checked > 0 {
		rep.Printf("  checked  %s already here, %d replaced", ui.Count(r.Copied.Checked, "path"), r.Copied.Replaced)
	}
	if r.Deref != "" {
		rep.Printf("  deref    %s", ui.Visible(r.Deref))
	}
	for _, p := range r.Pushed {
		rep.Printf("  pushed   %s, %s to %s (%d copied, %d already there)", ui.Count(p.Paths, "path"), ui.Bytes(p.Bytes), p.Store, p.Copied, p.Paths-p.Copied)
	}
	if r.Rebuild != nil {
		rep.Printf("  rebuild  reproducible: a second build is bit-identical")
	}
}

// emulationTip says once per run, after the summaries, how emulated
// builds get faster.
func emulationTip(rep *ui.Reporter, results []*build.Result) {
	for _, r := range results {
		if r.Error == "" && !r.Native {
			rep.Printf("tip: emulated builds are slow; a native %s Docker host (--host/--context) builds at full speed", r.System)
			return
		}
	}
}
