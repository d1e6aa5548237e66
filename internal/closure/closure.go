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
	"time"
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

// Stats says what an Export did. Bytes are NAR bytes, the unit of narSize.
type Stats struct {
	Paths      int   // store paths copied by this run
	Bytes      int64 // NAR bytes copied by this run
	Skipped    int   // store paths already in the output store (and intact, if checked)
	Checked    int   // of those, hashed again (CheckExisting)
	Replaced   int   // checked paths that differed, removed and exported again
	TotalPaths int   // store paths in the closure
	TotalBytes int64 // NAR bytes of the closure
}

// ExportOptions tunes an Export.
type ExportOptions struct {
	// Progress, when set, is called from the exporting goroutine every
	// progressStep bytes or so and once at the end. totalBytes counts only
	// the paths being copied, so the bar ends at 100% on a partial rerun.
	Progress func(copiedBytes, totalBytes int64)
	// TarFailed, when set, hears of a path whose tar stream was refused
	// (see TarSource) before it is exported from its NAR instead.
	TarFailed func(storePath string, err error)
	// IdleTimeout, when positive, ends an export whose stream keeps
	// nixcross waiting that long for a byte (or for the stream to start)
	// with an *IdleError naming the path: a producer that stops answering
	// without ending would otherwise be waited on for ever.
	IdleTimeout time.Duration
	// AfterFunc replaces time.AfterFunc for the idle watchdog (tests).
	AfterFunc func(time.Duration, func()) Timer
	// CheckExisting hashes the paths the store already has again and
	// replaces those that no longer match Nix's narHash (see existing.go);
	// Replacing, when set, hears of each before it is replaced, and why.
	CheckExisting bool
	Replacing     func(storePath string, why error)
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
