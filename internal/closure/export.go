package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"sync"

	"github.com/nix-community/go-nix/pkg/storepath"

	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nar"
)

const (
	// The read-ahead ring and the copy buffer bound the memory of an
	// export whatever the closure's size: nothing else grows with the data.
	readAheadSize = 8 << 20
	copyBufSize   = 1 << 20
	progressStep  = 64 << 10
)

type exportItem struct {
	info PathInfo
	hash narHash
}

// Export copies the paths of c missing from store out of src (with
// opts.CheckExisting, also those present that no longer match narHash).
//
// The missing paths are requested with a single src.Dump, whose stream is
// cut into NARs by each path's narSize. Each NAR is hashed as it is decoded
// (never re-read from disk), written under a temporary name and renamed
// into place only if it is exactly narSize bytes and its SHA-256 matches
// narHash. A rename that finds the path already there means a concurrent
// run published the same verified path first, which is success.
//
// A goroutine reads the stream ahead into a fixed ring while this one
// decodes and writes, so the container's producer and the disk overlap.
//
// Nothing is fsynced, deliberately. The rename-after-verify protocol is
// what guarantees that a published path is complete against a killed
// client (SIGKILL, Ctrl-C): the data is in the page cache and survives the
// process. Only a host crash inside the kernel's writeback window could
// leave a published path with lost data, and per-file fsyncs would cost a
// closure of thousands of small files most of its speed; the output is a
// copy that a rerun recreates (after deleting the output store's nix/).
//
// On cancellation the stream is closed, temporaries are removed and the
// context's cause is returned; so too, as an *IdleError, when the stream
// keeps the export waiting for opts.IdleTimeout. The Source must tolerate
// Close while a Read is in progress (the Docker exec stream does).
func Export(ctx context.Context, store *hoststore.Store, src Source, c Closure, opts ExportOptions) (Stats, error) {
	st := Stats{TotalPaths: len(c), TotalBytes: c.NarBytes()}
	var todo []exportItem
	var todoBytes int64
	seen := make(map[string]bool, len(c))
	for _, p := range c {
		if seen[p.Path] {
			continue
		}
		seen[p.Path] = true
		if _, err := storepath.FromAbsolutePath(p.Path); err != nil {
			return st, fmt.Errorf("export %s: %w", p.Path, err)
		}
		h, err := parseNarHashString(p.NarHash)
		if err != nil {
			return st, fmt.Errorf("export %s: narHash: %w", p.Path, err)
		}
		if p.NarSize <= 0 {
			return st, fmt.Errorf("export %s: invalid narSize %d", p.Path, p.NarSize)
		}
		it := exportItem{info: p, hash: h}
		// Final names only ever appear by renaming a verified path.
		if store.Has(p.Path) {
			again, err := existing(store, it, opts, &st)
			if err != nil {
				return st, err
			}
			if !again {
				continue
			}
		}
		todo = append(todo, it)
		todoBytes += p.NarSize
	}
	if len(todo) == 0 {
		return st, nil
	}
	if err := ctx.Err(); err != nil {
		return st, context.Cause(ctx)
	}

	out, err := store.NewWriter(make([]byte, copyBufSize))
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	defer out.Close()

	m := &meter{h: sha256.New(), progress: opts.Progress, total: todoBytes}
	m.report()
	x := exporter{ctx: ctx, out: out, meter: m, opts: opts}

	// Large paths come through the daemon's tar when the source has one;
	// a path the tar route fails on goes with the rest, as a NAR.
	var rest []exportItem
	ts, canTar := src.(TarSource)
	for _, it := range todo {
		if !canTar || it.info.NarSize < tarMinSize {
			rest = append(rest, it)
			continue
		}
		before := m.copied
		err := x.oneTar(ts, it)
		if err == nil {
			st.Paths++
			st.Bytes += it.info.NarSize
			continue
		}
		if ctx.Err() != nil {
			return st, context.Cause(ctx)
		}
		// A daemon that stopped answering would keep the NAR waiting too.
		if _, idle := errors.AsType[*IdleError](err); idle {
			return st, err
		}
		if opts.TarFailed != nil {
			opts.TarFailed(it.info.Path, err)
		}
		m.copied = before
		rest = append(rest, it)
	}
	if len(rest) == 0 {
		m.report()
		return st, nil
	}
	err = x.stream(src, rest, &st)
	return st, err
}

// stream exports items from one src.Dump, cut into NARs by narSize.
func (x *exporter) stream(src Source, items []exportItem, st *Stats) error {
	ctx := x.ctx
	dctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	paths := make([]string, len(items))
	for i, it := range items {
		paths[i] = it.info.Path
	}
	watch := newIdleWatch(x.opts, cancel)
	watch.at(paths[0])
	started := watch.wait()
	stream, wait, err := src.Dump(dctx, paths)
	started()
	if err != nil {
		switch idle := idleCause(dctx); {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case idle != nil:
			return fmt.Errorf("export %s: %w", idle.Path, idle)
		}
		return fmt.Errorf("export: start dump: %w", err)
	}
	closeStream := sync.OnceValue(stream.Close)
	// A Read blocked on the container only returns once the stream closes.
	stopClose := context.AfterFunc(dctx, func() { closeStream() })
	var total int64
	for _, it := range items {
		total += it.info.NarSize
	}
	ra := nar.NewReadAhead(watch.reader(stream), ringSize(total))
	finish := func(runErr error) error {
		if runErr != nil {
			// Stop the producer rather than wait for it to send the rest.
			cancel(nil)
		}
		stopClose()
		closeStream()
		ra.Stop()
		waitErr := wait()
		idle := idleCause(dctx)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case idle != nil:
			// What the closed stream did to the decoder is a symptom.
			return fmt.Errorf("export %s: %w", idle.Path, idle)
		case runErr != nil:
			return runErr
		case waitErr != nil:
			return fmt.Errorf("export: dump: %w", waitErr)
		}
		return nil
	}

	x.r = ra
	for _, it := range items {
		watch.at(it.info.Path)
		if err := x.one(it); err != nil {
			return finish(err)
		}
		st.Paths++
		st.Bytes += it.info.NarSize
	}
	// The producer must have sent exactly what path-info announced.
	if _, err := x.r.ReadByte(); err == nil {
		return finish(errors.New("export: the dump stream continues after the last NAR"))
	} else if !errors.Is(err, io.EOF) {
		return finish(fmt.Errorf("export: read dump stream: %w", err))
	}
	x.meter.report()
	return finish(nil)
}

// ringSize is the read-ahead for a stream of n bytes: a small closure
// (the usual rebuild's) needs no 8 MiB ring; one byte more than the stream
// lets the filler see its end without waiting for the reader.
func ringSize(n int64) int {
	return int(min(n+1, readAheadSize))
}

type exporter struct {
	ctx   context.Context
	out   *hoststore.Writer
	r     *nar.ReadAhead // the dump stream, while stream runs
	meter *meter
	opts  ExportOptions
}

func (x *exporter) one(it exportItem) error {
	tmp, err := x.out.Create(it.info.Path)
	if err != nil {
		return fmt.Errorf("export %s: %w", it.info.Path, err)
	}
	x.meter.h.Reset()
	err = nar.Decode(io.TeeReader(x.r, x.meter), tmp.Parent, tmp.Name, nar.Options{Size: it.info.NarSize, Check: x.ctx.Err})
	return x.publish(it, tmp, err)
}

// oneTar exports a path from the daemon's tar of it (see TarSource).
func (x *exporter) oneTar(src TarSource, it exportItem) error {
	p := it.info.Path
	tmp, err := x.out.Create(p)
	if err != nil {
		return fmt.Errorf("export %s: %w", p, err)
	}
	ctx, cancel := context.WithCancelCause(x.ctx)
	defer cancel(nil)
	watch := newIdleWatch(x.opts, cancel)
	watch.at(p)
	started := watch.wait()
	stream, err := src.Tar(ctx, p)
	started()
	if err != nil {
		if idle := idleCause(ctx); idle != nil {
			return fmt.Errorf("export %s: %w", p, idle)
		}
		return fmt.Errorf("export %s: tar: %w", p, err)
	}
	closeStream := sync.OnceValue(stream.Close)
	// A Read blocked on the daemon only returns once the stream closes.
	stopClose := context.AfterFunc(ctx, func() { closeStream() })
	ra := nar.NewReadAhead(watch.reader(stream), ringSize(it.info.NarSize))
	defer func() {
		stopClose()
		closeStream()
		ra.Stop()
	}()
	x.meter.h.Reset()
	err = nar.DecodeTar(ra, tmp.Parent, tmp.Name, nar.TarOptions{
		Size:  it.info.NarSize,
		Check: x.ctx.Err,
		Base:  path.Base(p),
		NAR:   x.meter,
		Open:  tmp.Open,
	})
	if idle := idleCause(ctx); idle != nil {
		err = idle // what the closed stream did to the decoder is a symptom
	}
	return x.publish(it, tmp, err)
}

// ErrHashMismatch is an exported path whose NAR does not hash to Nix's
// narHash: it is never published.
var ErrHashMismatch = errors.New("hash mismatch")

// publish renames the path written as tmp into place if it was written
// without error and its NAR hashed to narHash, and removes it otherwise.
func (x *exporter) publish(it exportItem, tmp hoststore.Temp, err error) error {
	p := it.info.Path
	if err == nil {
		if got := (narHash{digest: x.meter.h.Sum(nil)}); !bytes.Equal(got.digest, it.hash.digest) {
			err = fmt.Errorf("%w: the NAR hashes to %s, Nix recorded %s", ErrHashMismatch, got, it.hash)
		}
	}
	if err != nil {
		tmp.Discard()
		return fmt.Errorf("export %s: %w", p, err)
	}
	if err := tmp.Publish(); err != nil {
		return fmt.Errorf("export %s: publish: %w", p, err)
	}
	return nil
}

// meter hashes the NAR bytes as they stream past and reports progress.
type meter struct {
	h        hash.Hash
	progress func(copied, total int64)
	copied   int64
	reported int64
	total    int64
}

func (m *meter) Write(p []byte) (int, error) {
	m.h.Write(p)
	m.copied += int64(len(p))
	if m.copied-m.reported >= progressStep {
		m.report()
	}
	return len(p), nil
}

func (m *meter) report() {
	m.reported = m.copied
	if m.progress != nil {
		m.progress(m.copied, m.total)
	}
}
