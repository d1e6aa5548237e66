package build

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/machine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// DerefSuffix names the link --dereference writes beside the out-link.
const DerefSuffix = "-deref"

// OutLinks is where a run links its results: the out-link itself, or one
// <out-link>-<system> per system when there are several.
func OutLinks(outLink string, systems []system.System) []string {
	if len(systems) <= 1 {
		return []string{outLink}
	}
	links := make([]string, len(systems))
	for i, s := range systems {
		links[i] = outLink + "-" + s.String()
	}
	return links
}

// Request is everything the user asked for.
type Request struct {
	Flake   string // as typed, without #attr
	Attr    string
	Systems []system.System // empty: the daemon's own system
	OutLink string          // "result"
	Image   string          // --image; empty: build Dockerfile.nix
	Base    string          // base image of Dockerfile.nix
	Nix     nix.BuildFlags
	NoCache bool
	// Jobs is how many systems build at once (1: one after another). In a
	// fleet run (RunFleet), 0 is one system per daemon at once.
	Jobs        int
	Dereference bool
	Verify      bool
	// Source is how the flake reaches the container: SourceAuto,
	// SourceMount or SourceCopy.
	Source SourceMode
	// Builders is Nix's machine spec for remote builders ("" for none);
	// BuildersSSHKey a private key file on the client for reaching them
	// and ssh:// or ssh-ng:// --push stores.
	Builders       string
	BuildersSSHKey string
	// Push lists the stores the result goes to after a good build
	// (--push, then --to-cache), PushWhat how much of it, and SignKey a
	// Nix secret key file on the client that signs what is pushed.
	Push     []Store
	PushWhat PushWhat
	SignKey  string
	// Substituters and TrustedKeys add to Nix's defaults
	// (extra-substituters, extra-trusted-public-keys).
	Substituters []Store
	TrustedKeys  []string
	// Inputs are the flake's inputs on the client (ResolveInputs).
	Inputs []flake.Input
	// WriteLockFile writes a flake.lock Nix had to change back to the
	// client; without it a change is only reported.
	WriteLockFile bool
	// Forward is what reaches private inputs; nil with
	// --no-forward-credentials.
	Forward *Forwarded
	// Secrets are --option settings that are secrets (nix.SecretSetting:
	// access-tokens): Nix reads them from the credentials file with the
	// forwarded ones, never from a command line, which any process in the
	// container, a builder too, can read.
	Secrets []nix.Option
	// BuildersKnownHosts is the known_hosts file ssh checks builders'
	// host keys against (--builders-known-hosts, or ~/.ssh/known_hosts);
	// "" for none: every host is unknown.
	BuildersKnownHosts string
	// Sandbox runs Nix's build sandbox in the build container, failing
	// closed (--sandbox).
	Sandbox bool
	// Memory limits each build container, in bytes, as `docker run -m`
	// does (--memory; 0: no limit of nixcross's).
	Memory int64
	// QEMUCPU replaces the QEMU CPU model nixcross's handler runs for a
	// system (--qemu-cpu SYSTEM=MODEL), keyed by the system's Nix name;
	// only systems with a chosen model (binfmt.DefaultModel) take one.
	QEMUCPU map[string]string
	// Rebuild builds each result a second time and compares (--rebuild).
	Rebuild bool
	// Provenance records in each Result what a reproducer needs (--json
	// or --provenance); WriteProvenance also writes it beside each
	// out-link as <out-link>.provenance.json (--provenance).
	Provenance      bool
	WriteProvenance bool
	// ExportIdleTimeout ends an export whose stream sends nothing for that
	// long, exit 3 (--export-idle-timeout); 0 waits for ever.
	ExportIdleTimeout time.Duration
	// CheckExisting hashes the paths the output store already has again
	// and replaces those that differ from Nix's hash (--check-existing).
	CheckExisting bool
	// Ship makes an OCI image of each result (--tag) and says where the
	// run's images go; zero without --tag.
	Ship Ship
}

// Ship is what --tag and the flags beside it ask for.
type Ship struct {
	// Tag names the images (--tag); zero: no image. Ref is --tag as
	// typed, which messages and --json repeat.
	Tag name.Tag
	Ref string
	// Entrypoint is the program, relative to the output (--entrypoint
	// bin/NAME); "" to take meta.mainProgram or the only program.
	Entrypoint string
	// Load loads the images into the daemon (--load), Push pushes the
	// index to Tag's registry (--push-image), and LayoutDir writes it into
	// an OCI image layout (--oci-out).
	Load      bool
	Push      bool
	LayoutDir string
}

// Wanted reports whether images are asked for.
func (s Ship) Wanted() bool { return s.Tag.TagStr() != "" }

// Result is one system's build, as --json reports it. Keys are stable.
type Result struct {
	System string `json:"system"`
	// Docker is the endpoint of the daemon that built it (its host string).
	Docker   string       `json:"docker,omitempty"`
	Flake    string       `json:"flake"`
	Attr     string       `json:"attr"`
	Outputs  []string     `json:"outputs"`
	Link     string       `json:"link,omitempty"`
	Closure  ClosureStats `json:"closure"`
	Copied   CopyStats    `json:"copied"`
	Machines []string     `json:"machines"`
	Native   bool         `json:"native"`
	Emulator Emulator     `json:"emulator,omitempty"`
	// QEMUCPU is the CPU model QEMU emulated: nixcross's choice or
	// --qemu-cpu's, "default" for QEMU's own; "" when native or when the
	// host's own handler ran it (not tuned: nixcross cannot choose its model).
	QEMUCPU string     `json:"qemuCPU,omitempty"`
	Source  SourceMode `json:"source,omitempty"`
	// Nix is the version of Nix that built it.
	Nix   string `json:"nix,omitempty"`
	Deref string `json:"dereferenced,omitempty"`
	// DerefNeedsNix are the files of the -deref copy that still need
	// /nix/store to run (dynamically linked programs, #! scripts).
	DerefNeedsNix []machine.NeedsNix `json:"dereferencedNeedsNix,omitempty"`
	// Sandboxed: Nix's build sandbox confined the build (--sandbox).
	Sandboxed bool `json:"sandboxed"`
	// Provenance is what a reproducer needs; nil unless asked for.
	Provenance *Provenance `json:"provenance,omitempty"`
	// Rebuild is --rebuild's verdict; nil without --rebuild.
	Rebuild *Rebuild `json:"rebuild,omitempty"`
	Seconds float64  `json:"seconds"`
	Error   string   `json:"error,omitempty"`
	// KeptContainer names the container --keep-failed left for inspection.
	KeptContainer string `json:"keptContainer,omitempty"`
	// Pushed lists each --push and --to-cache store the result reached.
	Pushed []PushStats `json:"pushed,omitempty"`
	// Image is the result's image (--tag); nil without.
	Image *Image `json:"image,omitempty"`

	err      error
	duration time.Duration
	image    v1.Image
	platform system.Platform
}

// Err is the failure of this build, nil on success.
func (r *Result) Err() error { return r.err }

// SourceMode is how a local flake reaches the build container.
type SourceMode string

const (
	// SourceAuto mounts when the daemon is local and copies otherwise,
	// falling back to a copy when the daemon cannot see the mount.
	SourceAuto SourceMode = "auto"
	// SourceMount bind-mounts the flake read-only at its own path.
	SourceMount SourceMode = "mount"
	// SourceCopy sends the flake's files through the Docker API.
	SourceCopy SourceMode = "copy"
	// SourceFetched: Nix fetches the flake itself (github:…); nothing to send.
	SourceFetched SourceMode = ""
)

// ParseSourceMode reads --source.
func ParseSourceMode(s string) (SourceMode, error) {
	switch m := SourceMode(s); m {
	case SourceAuto, SourceMount, SourceCopy:
		return m, nil
	}
	return "", status.Usage(fmt.Errorf("--source must be auto, mount or copy, got %q", s), "")
}

// Emulator is what ran a foreign system's binaries.
type Emulator string

const (
	// EmulatorNone: the CPU ran them itself (a native build).
	EmulatorNone Emulator = ""
	// EmulatorHost: a handler the Docker host already had (its own
	// qemu-user-static, or `nixcross binfmt install`).
	EmulatorHost Emulator = "host"
	// EmulatorNixcross: QEMU nixcross registered for this build.
	EmulatorNixcross Emulator = "nixcross"
)

// ClosureStats sizes what the result needs.
type ClosureStats struct {
	Paths    int   `json:"paths"`
	NarBytes int64 `json:"narBytes"`
}

// PushStats is one store a result was pushed to: the paths it holds for
// the result afterwards (those already there included), their NAR size,
// and how many of them Nix copied (the rest the store already had).
type PushStats struct {
	Store  string `json:"store"`
	Paths  int    `json:"paths"`
	Bytes  int64  `json:"bytes"`
	Copied int    `json:"copied"`
}

// CopyStats is what this run actually copied (0 on a no-op rebuild). With
// --check-existing, Checked counts the paths already there that were
// hashed again, and Replaced those of them that differed and were copied
// anew (they are in Paths and Bytes too).
type CopyStats struct {
	Paths    int   `json:"paths"`
	Bytes    int64 `json:"bytes"`
	Checked  int   `json:"checked,omitempty"`
	Replaced int   `json:"replaced,omitempty"`
}
