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
	Builds []*build.Result `json:"builds"`
	// Image is the multi-arch index of the builds' images (--tag).
	Image     *build.Shipped `json:"image,omitempty"`
	Error     string         `json:"error,omitempty"`
	ErrorKind string         `json:"errorKind,omitempty"`
}

func writeBuildJSON(w io.Writer, results []*build.Result, shipped *build.Shipped, err error) error {
	doc := buildDocument{Builds: results, Image: shipped}
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
	rep.Printf("✓ %s (%s) in %.1fs\n  output   %s\n  link     %s -> nix/store/%s\n  closure  %s, %s\n  copied   %s, %s\n  machines %s",
		r.System, mode, r.Seconds, out, ui.Visible(r.Link), strings.TrimPrefix(out, "/nix/store/"),
		ui.Count(r.Closure.Paths, "path"), ui.Bytes(r.Closure.NarBytes), ui.Count(r.Copied.Paths, "path"), ui.Bytes(r.Copied.Bytes), machines)
	if r.Copied.Checked > 0 {
		rep.Printf("  checked  %s already here, %d replaced", ui.Count(r.Copied.Checked, "path"), r.Copied.Replaced)
	}
	if r.Deref != "" {
		rep.Printf("  deref    %s", ui.Visible(r.Deref))
	}
	if r.Image != nil {
		rep.Printf("  image    %s %s, %d layers, runs %s", r.Image.Platform, r.Image.Digest, r.Image.Layers, ui.Visible(r.Image.Entrypoint))
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
			rep.Printf("tip: emulated builds are slow; a native %s Docker host builds at full speed: `nixcross fleet set %s ENDPOINT` routes it there", r.System, r.System)
			return
		}
	}
}

// printShipped says where the run's images went: the index's digest and
// each destination, or that --tag alone kept them nowhere.
func printShipped(rep *ui.Reporter, ship build.Ship, s *build.Shipped) {
	if s == nil {
		return
	}
	rep.Printf("✓ image %s: index %s", ui.Visible(s.Ref), s.Digest)
	if s.Layout != "" {
		rep.Printf("  oci-out  %s (skopeo copy --all oci:%s:%s …)", ui.Visible(s.Layout), ui.Visible(s.Layout), ui.Visible(ship.Tag.TagStr()))
	}
	if s.Pushed {
		rep.Printf("  pushed   %s", ui.Visible(s.Ref))
	}
	loaded := make([]string, len(s.Loaded))
	for i, l := range s.Loaded {
		loaded[i] = ui.Visible(l)
	}
	switch {
	case len(loaded) == 1:
		rep.Printf("  loaded   %s", loaded[0])
	case len(loaded) > 1:
		rep.Printf("  loaded   %s (one name per system: Docker's classic image store holds one platform per name)", strings.Join(loaded, ", "))
	}
	if !ship.Load && !ship.Push && ship.LayoutDir == "" {
		rep.Printf("  note     the images went nowhere: add --load, --push-image or --oci-out DIR")
	}
}
