package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// Provenance is what someone needs to build the same result again and
// check they got it: the pinned sources, the derivations, and what built
// them.
type Provenance struct {
	// Flake is the flake as Nix locked it (URL as the container saw it,
	// revision when it is a clean git checkout, narHash always); Inputs
	// are its lock file's nodes.
	Flake  nix.Locked            `json:"flake"`
	Inputs map[string]nix.Locked `json:"inputs"`
	// Derivations maps each output path to the derivation that built it.
	Derivations map[string]string `json:"derivations"`
	Image       ProvenanceImage   `json:"image"`
	Nix         string            `json:"nix"`
	// QEMU is the version of the emulator nixcross registered; "" for a
	// native build, or when the host's own handler ran it (nixcross cannot
	// see which QEMU the host has).
	QEMU string `json:"qemu,omitempty"`
	// QEMUCPU is the CPU model that QEMU emulated (Result.QEMUCPU).
	QEMUCPU   string   `json:"qemuCPU,omitempty"`
	System    string   `json:"system"`
	Native    bool     `json:"native"`
	Emulator  Emulator `json:"emulator,omitempty"`
	Sandboxed bool     `json:"sandboxed"`
	Nixcross  string   `json:"nixcross"`
}

// ProvenanceImage names the builder image exactly.
type ProvenanceImage struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
	// RepoDigests are the registry digests ("repo@sha256:…"); empty for
	// an image built locally (the built-in one: Dockerfile.nix, hashed in
	// its tag) or never pushed.
	RepoDigests []string `json:"repoDigests"`
}

// ProvenanceSuffix names the file --provenance writes beside the out-link.
const ProvenanceSuffix = ".provenance.json"

// provenanceMarker separates the documents the provenance script prints.
const provenanceMarker = "@@nixcross-provenance@@"

// provenanceScript prints the flake's metadata and, when qemu is set, that
// emulator's version, separated by provenanceMarker. (Nix's version is
// known already: see nixCheck.)
func provenanceScript(flake, qemu string) []string {
	script := `set -e
q=$1; shift
"$@"
echo ` + provenanceMarker + `
[ -z "$q" ] || "$q" --version 2>/dev/null | head -n 1 || true`
	return append([]string{"sh", "-c", script, "nixcross-provenance", qemu}, nix.MetadataCommand(flake)...)
}

// provenance is the "provenance" stage, with --json or --provenance:
// record what a reproducer needs in res and, with --provenance, write it
// to <out-link>.provenance.json.
func (r *Runner) provenance(ctx context.Context, j job, c *buildContainer, b built, res *Result) error {
	if !j.req.Provenance && !j.req.WriteProvenance {
		return nil
	}
	done := r.UI.Phase(j.prefix, "provenance")
	p, err := r.collectProvenance(ctx, j, c, b, res)
	if err == nil && j.req.WriteProvenance {
		err = r.writeProvenance(j.link+ProvenanceSuffix, j.link, p)
	}
	done(err)
	if err != nil {
		return err
	}
	res.Provenance = p
	return nil
}

func (r *Runner) collectProvenance(ctx context.Context, j job, c *buildContainer, b built, res *Result) (*Provenance, error) {
	qemu := ""
	if h, ok := binfmt.HandlerFor(j.system); ok && res.Emulator == EmulatorNixcross {
		qemu = h.Interpreter
	}
	var out, stderr bytes.Buffer
	err := r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: provenanceScript(j.prep.Source.Ref(j.req.Flake), qemu), Env: c.nixEnv, Stdout: &out, Stderr: &stderr})
	if err != nil {
		return nil, status.Environment(fmt.Errorf("read the flake's metadata: %w: %s", err, strings.TrimSpace(stderr.String())), "")
	}
	parts := strings.Split(out.String(), provenanceMarker+"\n")
	if len(parts) != 2 {
		return nil, status.Environment(fmt.Errorf("read the flake's metadata: unexpected output %q", out.String()), "")
	}
	meta, err := nix.ParseMetadata([]byte(parts[0]))
	if err != nil {
		return nil, status.Environment(err, "")
	}
	// The built-in image is built here, never pulled: it has no registry
	// digest, whatever the daemon lists (the containerd image store lists
	// a local image's own digest as "name@sha256:…").
	digests := []string{}
	if j.prep.userImage {
		d, err := r.Engine.RepoDigests(ctx, j.prep.Image.Ref)
		if err != nil {
			return nil, status.Environment(err, "")
		}
		digests = append(digests, d...)
	}
	return &Provenance{
		Flake: meta.Flake, Inputs: meta.Inputs, Derivations: b.derivations,
		Image: ProvenanceImage{Ref: j.prep.Image.Ref, ID: j.prep.Image.ID, RepoDigests: digests},
		Nix:   res.Nix, QEMU: qemuVersion(parts[1]), QEMUCPU: res.QEMUCPU,
		System: res.System, Native: res.Native, Emulator: res.Emulator, Sandboxed: res.Sandboxed,
		Nixcross: r.Version,
	}, nil
}

// qemuVersion reads "qemu-aarch64 version 10.0.2 (Debian 1:10.0.2+ds-2)".
func qemuVersion(s string) string {
	f := strings.Fields(s)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "version" {
			return f[i+1]
		}
	}
	return ""
}

// writeProvenance writes p as JSON to path, owned like the export.
func (r *Runner) writeProvenance(path, link string, p *Provenance) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return status.Environment(fmt.Errorf("write provenance of %s: %w", link, err), "")
	}
	if r.Owner != nil {
		if err := os.Chown(path, r.Owner.UID, r.Owner.GID); err != nil {
			return status.Environment(fmt.Errorf("write provenance of %s: %w", link, err), "")
		}
	}
	return nil
}
