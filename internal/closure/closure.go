// Package closure owns getting a Nix closure out of a build container onto
// the host: Nix's path metadata, streaming each store path's NAR out,
// verifying it against Nix's narHash, publishing it atomically into an
// output store beside the out-link, the relative out-link itself, and what
// the exported binaries are built for.
package closure

import (
	"context"
	"io"
)

// PathInfo is one store path of a closure as `nix path-info --json` reports it.
type PathInfo struct {
	Path       string   `json:"path"`
	NarHash    string   `json:"narHash"` // "sha256:<base32>" or SRI "sha256-<base64>"
	NarSize    int64    `json:"narSize"`
	References []string `json:"references"`
}

// Closure is every store path a result needs, outputs included.
type Closure []PathInfo

// NarBytes is the closure's total NAR size.
func (c Closure) NarBytes() int64 {
	var n int64
	for _, p := range c {
		n += p.NarSize
	}
	return n
}

// Source streams NAR serialisations out of the container that holds the
// store (in nixcross: `nix-store --dump` through a Docker exec).
type Source interface {
	// Dump returns the NARs of paths concatenated in the given order; wait
	// reports how the producer ended, after the stream is read and closed.
	Dump(ctx context.Context, paths []string) (stream io.ReadCloser, wait func() error, err error)
}
