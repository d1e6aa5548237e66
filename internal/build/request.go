// Package build orchestrates one `nixcross build`: reach the daemon, ensure
// the builder image and its store cache, make the target runnable, run Nix
// in a labelled container with the flake visible, and export the closure
// with a relative out-link. Every container it makes is removed at the end,
// on success, failure or interruption (unless --keep-failed says otherwise).
package build

import (
	"time"

	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/system"
)

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
	// Jobs is how many systems build at once (1: one after another).
	Jobs        int
	Dereference bool
	Verify      bool
	// Source is how the flake reaches the container: "auto", "mount" or "copy".
	Source string
	// Builders is Nix's machine spec for remote builders ("" for none);
	// BuildersSSHKey a private key file on the client for reaching them.
	Builders       string
	BuildersSSHKey string
}

// Result is one system's build, as --json reports it. Keys are stable.
type Result struct {
	System   string       `json:"system"`
	Flake    string       `json:"flake"`
	Attr     string       `json:"attr"`
	Outputs  []string     `json:"outputs"`
	Link     string       `json:"link,omitempty"`
	Closure  ClosureStats `json:"closure"`
	Copied   CopyStats    `json:"copied"`
	Machines []string     `json:"machines"`
	Native   bool         `json:"native"`
	Emulator string       `json:"emulator,omitempty"`
	Source   string       `json:"source,omitempty"`
	// Nix is the version of Nix that built it.
	Nix     string  `json:"nix,omitempty"`
	Deref   string  `json:"dereferenced,omitempty"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	// KeptContainer names the container --keep-failed left for inspection.
	KeptContainer string `json:"keptContainer,omitempty"`

	err      error
	duration time.Duration
}

// Err is the failure of this build, nil on success.
func (r *Result) Err() error { return r.err }

// ClosureStats sizes what the result needs.
type ClosureStats struct {
	Paths    int   `json:"paths"`
	NarBytes int64 `json:"narBytes"`
}

// CopyStats is what this run actually copied (0 on a no-op rebuild).
type CopyStats struct {
	Paths int   `json:"paths"`
	Bytes int64 `json:"bytes"`
}
