package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"syscall"

	"github.com/docker/go-units"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// containerSource streams store paths out of the build container: NARs
// from `nix-store --dump` through a Docker exec (stderr goes to the log),
// and single paths as the daemon's tar.
type containerSource struct {
	eng    *engine.Engine
	id     string
	stderr io.Writer
}

func (c containerSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	return c.eng.ExecStream(ctx, c.id, engine.ExecSpec{Cmd: nix.DumpCommand(paths), Stderr: c.stderr})
}

// Tar makes containerSource a closure.TarSource: large paths come as the
// daemon's own tar, the faster stream.
func (c containerSource) Tar(ctx context.Context, storePath string) (io.ReadCloser, error) {
	return c.eng.Archive(ctx, c.id, storePath)
}

// exported is the output of the "export" stage: the closure in the host
// store beside the out-link, verified against Nix's hashes, and the link.
type exported struct {
	store   *hoststore.Store
	absLink string
}

// export copies the closure out of container c into nix/store beside the
// out-link and points the link at the first output.
func (r *Runner) export(ctx context.Context, j job, c *buildContainer, b built, res *Result) (exported, error) {
	absLink, err := filepath.Abs(j.link)
	if err != nil {
		return exported{}, status.Usage(fmt.Errorf("out-link %s: %w", j.link, err), "")
	}
	store, err := hoststore.Open(filepath.Dir(absLink), r.Owner)
	if err != nil {
		return exported{}, status.Environment(err, "")
	}
	src := containerSource{eng: r.Engine, id: c.id, stderr: r.UI.Lines(j.prefix, true)}
	done := r.UI.Phase(j.prefix, "export")
	bar := r.UI.Progress(j.prefix+"export", b.closure.NarBytes())
	stats, err := closure.Export(ctx, store, src, b.closure, closure.ExportOptions{
		Progress: func(n, _ int64) { bar.Set(n) },
		TarFailed: func(p string, err error) {
			if r.Verbose {
				r.UI.Printf("%s  %s: exporting as a NAR instead of the daemon's tar: %s", j.prefix, ui.Visible(p), ui.Visible(err.Error()))
			}
		},
		IdleTimeout:   j.req.ExportIdleTimeout,
		CheckExisting: j.req.CheckExisting,
		Replacing: func(p string, why error) {
			r.UI.Warnf("%s%s in %s differs from what Nix built (%v); replacing it", j.prefix, p, store.Root, why)
		},
	})
	bar.Done()
	done(err)
	if err != nil {
		if ctx.Err() == nil && status.KindOf(err) != status.KindDaemon && !errors.Is(err, closure.ErrHashMismatch) && !errors.Is(err, syscall.ENOSPC) {
			// A stream that broke may be the container's end, not the stream's.
			if end := r.containerEnd(ctx, j, c, true, "exported"); end.err != nil {
				return exported{}, end.err
			}
		}
		return exported{}, exportFailure(ctx, err, store.Root, b.closure.NarBytes())
	}
	res.Copied = CopyStats{Paths: stats.Paths, Bytes: stats.Bytes, Checked: stats.Checked, Replaced: stats.Replaced}
	if err := store.Link(absLink, b.outputs[0]); err != nil {
		return exported{}, status.Environment(err, "")
	}
	res.Link = j.link
	return exported{store: store, absLink: absLink}, nil
}

// exportFailure classifies a failed export: a path that did not hash to
// Nix's hash, the host's disk filling up under dir, or the stream failing
// (or going idle) under it. A lost daemon is classified where the
// connection broke (engine), and wins.
func exportFailure(ctx context.Context, err error, dir string, need int64) error {
	_, idle := errors.AsType[*closure.IdleError](err)
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case idle:
		return status.Export(err, "the container's nix-store --dump or the daemon's archive stopped answering; rerun (verified paths are kept), or change --export-idle-timeout (0 waits for ever)")
	case errors.Is(err, closure.ErrHashMismatch):
		return status.Integrity(err, "")
	case errors.Is(err, syscall.ENOSPC):
		return status.Space(fmt.Errorf("no space left for the result in %s: %w", ui.Visible(filepath.Join(dir, "nix")), err),
			fmt.Sprintf("the closure needs about %s there (NAR size): free that much or choose an -o on another disk, then rerun; the paths already verified are kept and the export resumes", units.HumanSize(float64(need))))
	default:
		return status.Export(err, "")
	}
}

// dereference writes <out-link>-deref under --dereference: a link to a
// copy of the result with the closure's links resolved, for machines
// without Nix. An output that is itself a link out of the closure gets
// no copy: like a copy too large, the result fails the check (exit 1),
// and result, already linked, stays. A -deref path that is not a link is
// the user's: parseBuildRequest refused it before the build (exit 2);
// one that appeared since is refused here the same way.
func (r *Runner) dereference(j job, out exported, b built, res *Result) error {
	if !j.req.Dereference {
		return nil
	}
	deref := j.link + DerefSuffix
	rep, err := out.store.Dereference(b.outputs[0], out.absLink+DerefSuffix, hoststore.DerefLimit(b.closure.NarBytes()))
	switch {
	case errors.Is(err, hoststore.ErrOutputLeft):
		l := rep.Left[0]
		return status.Check(fmt.Errorf("%s not written: the output %s is a link to %s, which %s", ui.Visible(deref), ui.Visible(b.outputs[0]), ui.Visible(l.Target), l.Reason),
			fmt.Sprintf("%s keeps the output as Nix built it; a copy for machines without Nix needs an output that is a file or directory", j.link))
	case errors.Is(err, hoststore.ErrDerefTooLarge):
		return status.Check(err, fmt.Sprintf("ship %s together with nix/ instead (rsync -a %s nix user@host:dir/), which keeps links as links", j.link, j.link))
	case errors.Is(err, hoststore.ErrNotOurs):
		return status.Usage(err, "move it away or choose another -o")
	case errors.Is(err, syscall.ENOSPC):
		return status.Space(fmt.Errorf("%s not written: %w", ui.Visible(deref), err),
			fmt.Sprintf("the copy needs about %s beside %s (the closure's NAR size, links resolved): free that much, or drop --dereference and ship %s with nix/", units.HumanSize(float64(b.closure.NarBytes())), j.link, j.link))
	case err != nil:
		return status.Environment(err, "")
	}
	res.Deref = deref
	for _, l := range rep.Left {
		r.UI.Warnf("%s%s: the link to %s %s; left out of the copy", j.prefix, ui.Visible(path.Join(deref, l.Path)), ui.Visible(l.Target), l.Reason)
	}
	return nil
}
