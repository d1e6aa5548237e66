package closure

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock hands out timers that fire only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	timers []*fakeTimer
	// onArm, when set, runs as each timer is armed (before it is returned).
	onArm func(armed []*fakeTimer)
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped atomic.Bool
}

func (t *fakeTimer) Stop() bool { return !t.stopped.Swap(true) }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	t := &fakeTimer{d: d, f: f}
	c.timers = append(c.timers, t)
	armed := append([]*fakeTimer(nil), c.timers...)
	c.mu.Unlock()
	if c.onArm != nil {
		c.onArm(armed)
	}
	return t
}

// fireLive fires every timer not stopped, as the interval passing would,
// and returns how many fired.
func (c *fakeClock) fireLive() int {
	c.mu.Lock()
	var live []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped.Load() {
			live = append(live, t)
		}
	}
	c.mu.Unlock()
	for _, t := range live {
		t.f()
	}
	return len(live)
}

// stallSource sends sent and then stops answering (never ending) until
// the stream is closed; with stallStart, Dump and Tar themselves never
// answer until their context ends. stalled is closed once it stalls.
type stallSource struct {
	sent       []byte
	stallStart bool
	stalled    chan struct{}
	once       sync.Once
}

func newStallSource(sent []byte) *stallSource {
	return &stallSource{sent: sent, stalled: make(chan struct{})}
}

func (s *stallSource) stall() { s.once.Do(func() { close(s.stalled) }) }

func (s *stallSource) open(ctx context.Context) (io.ReadCloser, error) {
	if s.stallStart {
		s.stall()
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	return &stallReader{src: s, rest: s.sent, closed: make(chan struct{})}, nil
}

func (s *stallSource) Dump(ctx context.Context, _ []string) (io.ReadCloser, func() error, error) {
	r, err := s.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return r, func() error { return context.Cause(ctx) }, nil
}

func (s *stallSource) Tar(ctx context.Context, _ string) (io.ReadCloser, error) {
	return s.open(ctx)
}

type stallReader struct {
	src       *stallSource
	rest      []byte
	closed    chan struct{}
	closeOnce sync.Once
}

func (r *stallReader) Read(p []byte) (int, error) {
	if len(r.rest) > 0 {
		n := copy(p, r.rest)
		r.rest = r.rest[n:]
		return n, nil
	}
	r.src.stall()
	<-r.closed
	return 0, io.ErrClosedPipe
}

func (r *stallReader) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return nil
}

// An export whose producer stops answering ends with an IdleError naming
// the path and the interval, and publishes nothing: mid-stream and before
// the stream starts, through the dump and through the daemon's tar.
func TestExportIdleTimeout(t *testing.T) {
	const interval = 5 * time.Minute
	for _, tc := range []struct {
		name       string
		tar        bool
		stallStart bool
	}{
		{"dump stalls mid-stream", false, false},
		{"dump never starts", false, true},
		{"tar stalls mid-stream", true, false},
		{"tar never starts", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nars, c := testClosure(t, 1)
			// A valid start, so the decoder waits for more rather than failing.
			stall := newStallSource(nars.nars[c[0].Path][:100])
			stall.stallStart = tc.stallStart
			var src Source = dumpOnly{stall}
			if tc.tar {
				withTarMinSize(t, 1)
				src = stall
			}
			clock := &fakeClock{}
			s := openStore(t, t.TempDir())
			done := make(chan error, 1)
			go func() {
				_, err := Export(context.Background(), s, src, c, ExportOptions{IdleTimeout: interval, AfterFunc: clock.AfterFunc})
				done <- err
			}()
			<-stall.stalled
			// The wait that stalled armed its timer before it began.
			if n := clock.fireLive(); n != 1 {
				t.Fatalf("%d timers armed while the stream stalls, want 1", n)
			}
			err := <-done
			var idle *IdleError
			if !errors.As(err, &idle) || idle.Path != c[0].Path || idle.Interval != interval {
				t.Fatalf("err = %v, want an IdleError for %s after %s", err, c[0].Path, interval)
			}
			if want := "export " + c[0].Path + ": the container sent nothing for 5m0s"; err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			if got := listStore(t, s); len(got) != 0 {
				t.Errorf("store holds %q after the timeout, want nothing", got)
			}
			for _, tm := range clock.timers {
				if tm.d != interval {
					t.Errorf("timer armed for %s, want %s", tm.d, interval)
				}
			}
		})
	}
}

// dumpOnly hides a source's Tar.
type dumpOnly struct{ s *stallSource }

func (d dumpOnly) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	return d.s.Dump(ctx, paths)
}

// A timer that fires after its wait ended (Stop lost the race with the
// interval) changes nothing: each timer here fires late, as the next wait
// starts, and a flowing export still succeeds.
func TestExportIdleLateTimer(t *testing.T) {
	src, c := testClosure(t, 3)
	src.chunk = 4 << 10
	clock := &fakeClock{onArm: func(armed []*fakeTimer) {
		if len(armed) > 1 {
			armed[len(armed)-2].f()
		}
	}}
	s := openStore(t, t.TempDir())
	st, err := Export(context.Background(), s, src, c, ExportOptions{IdleTimeout: time.Minute, AfterFunc: clock.AfterFunc})
	if err != nil || st.Paths != 3 {
		t.Fatalf("export with late timers: %+v, %v", st, err)
	}
	if len(clock.timers) < 3 {
		t.Fatalf("only %d timers armed", len(clock.timers))
	}
	// No timeout, no watchdog.
	clock = &fakeClock{}
	if _, err := Export(context.Background(), openStore(t, t.TempDir()), src, c, ExportOptions{AfterFunc: clock.AfterFunc}); err != nil || len(clock.timers) != 0 {
		t.Fatalf("IdleTimeout 0: %v, %d timers armed", err, len(clock.timers))
	}
}
