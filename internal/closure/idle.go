package closure

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// IdleError is an export stream that sent nothing for Interval while
// nixcross waited on it: the container's `nix-store --dump` or the
// daemon's archive stream stopped answering without ending.
type IdleError struct {
	Path     string // the store path being exported
	Interval time.Duration
}

func (e *IdleError) Error() string {
	// Wrapped as "export <path>: …" wherever it is returned.
	return fmt.Sprintf("the container sent nothing for %s", e.Interval)
}

// Timer is what the idle watchdog needs of a *time.Timer; tests inject
// their own (ExportOptions.AfterFunc) rather than wait.
type Timer interface{ Stop() bool }

// idleWatch cancels an export stream that keeps a request or a Read
// waiting for longer than its interval. Only time spent waiting on the
// producer counts: while the read-ahead ring is full because the disk is
// slow, nothing is read and nothing is idle.
type idleWatch struct {
	interval  time.Duration
	afterFunc func(time.Duration, func()) Timer
	cancel    context.CancelCauseFunc

	mu   sync.Mutex
	gen  int    // which wait an armed timer belongs to
	busy bool   // a wait is in progress
	path string // the store path the stream is on
}

// newIdleWatch returns nil (no watchdog) for interval 0.
func newIdleWatch(opts ExportOptions, cancel context.CancelCauseFunc) *idleWatch {
	if opts.IdleTimeout <= 0 {
		return nil
	}
	af := opts.AfterFunc
	if af == nil {
		af = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	return &idleWatch{interval: opts.IdleTimeout, afterFunc: af, cancel: cancel}
}

// at says which store path the stream is on, for the error.
func (w *idleWatch) at(path string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.path = path
	w.mu.Unlock()
}

// wait arms the watchdog for one wait on the producer; done disarms it.
// A timer that fires after its wait ended (Stop lost the race) finds
// another generation and does nothing.
func (w *idleWatch) wait() (done func()) {
	if w == nil {
		return func() {}
	}
	w.mu.Lock()
	w.gen++
	gen := w.gen
	w.busy = true
	w.mu.Unlock()
	t := w.afterFunc(w.interval, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.busy && w.gen == gen {
			w.cancel(&IdleError{Path: w.path, Interval: w.interval})
		}
	})
	return func() {
		t.Stop()
		w.mu.Lock()
		if w.gen == gen {
			w.busy = false
		}
		w.mu.Unlock()
	}
}

// reader watches every Read of r. Cancelling closes the stream (the
// caller's context.AfterFunc), which is what ends a Read blocked in it.
func (w *idleWatch) reader(r io.Reader) io.Reader {
	if w == nil {
		return r
	}
	return idleReader{r: r, w: w}
}

type idleReader struct {
	r io.Reader
	w *idleWatch
}

func (ir idleReader) Read(p []byte) (int, error) {
	done := ir.w.wait()
	defer done()
	return ir.r.Read(p)
}

// idleCause is the IdleError that cancelled ctx, or nil.
func idleCause(ctx context.Context) *IdleError {
	e, _ := context.Cause(ctx).(*IdleError)
	return e
}
