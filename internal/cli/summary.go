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
		switch {
		case r.QEMUCPU != "":
			mode = "emulated (QEMU, CPU " + ui.Visible(r.QEMUCPU) + ")"
		case r.Emulator == build.EmulatorHost:
			mode = "emulated (the host's QEMU, CPU model not tuned)"
		}
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
	rep.Printf("✓ %s (%s) in %.1fs\n  output   %s\n  link     %s -> nix/store/%s\n  closure  %d paths, %s\n  copied   %d paths, %s\n  machines %s",
		r.System, mode, r.Seconds, out, ui.Visible(r.Link), strings.TrimPrefix(out, "/nix/store/"),
		r.Closure.Paths, ui.Bytes(r.Closure.NarBytes), r.Copied.Paths, ui.Bytes(r.Copied.Bytes), machines)
	if r.Deref != "" {
		rep.Printf("  deref    %s", ui.Visible(r.Deref))
	}
	for _, p := range r.Pushed {
		rep.Printf("  pushed   %d paths, %s to %s (%d copied, %d already there)", p.Paths, ui.Bytes(p.Bytes), p.Store, p.Copied, p.Paths-p.Copied)
	}
	if r.Rebuild != nil {
		rep.Printf("  rebuild  reproducible: a second build is bit-identical")
	}
	if !r.Native {
		rep.Printf("  tip      emulated builds are slow; a native %s Docker host (--host/--context) builds at full speed", r.System)
	}
}
