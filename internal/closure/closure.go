// Package closure owns the verified export of a Nix closure from a build
// container to the host: what `nix path-info` says the closure is
// (Closure, PathInfo, ParsePathInfo), where its paths come from (Source,
// TarSource), and Export, which streams each missing path, hashes it as it
// is decoded and publishes it into the host's output store only if it
// matches Nix's narHash. Decoding is internal/nar's job, the output store
// internal/hoststore's.
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

// TarSource is a Source that can also stream one store path as the Docker
// daemon's own tar of it (CopyFromContainer, what `docker cp` reads). That
// stream leaves out the process and the shim an exec needs and was 1.2x to
// 2x faster than a NAR through an exec on the benchmark machine
// (bench/export), which for a large path is worth a request of its own.
type TarSource interface {
	Source
	// Tar returns the daemon's tar of storePath: its root entry named by
	// the path's base name, then everything below it.
	Tar(ctx context.Context, storePath string) (io.ReadCloser, error)
}

// tarMinSize is the narSize from which a path goes through Tar: below it
// the request's fixed cost (a round trip and an archive set-up in the
// daemon, a few milliseconds) outweighs the faster stream.
var tarMinSize int64 = 16 << 20
