package ui

import (
	"strings"
	"testing"
	"time"
)

// TestHeartbeat: off a terminal, a phase silent for HeartbeatEvery (six
// ticks) gets a line saying it is still going, with its elapsed time and
// detail; output restarts the count; the heartbeat stops with the last
// phase.
func TestHeartbeat(t *testing.T) {
	var buf syncBuffer
	r := New(&buf, Options{})
	t0 := time.Unix(0, 0)
	clock := t0
	r.now = func() time.Time { return clock }
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	r.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		if d != HeartbeatEvery/heartbeatTicks {
			t.Errorf("ticker every %s", d)
		}
		return ticks, func() { close(stopped) }
	}
	tick := func(n int) {
		for range n {
			ticks <- time.Time{}
		}
	}
	done := r.LoggedPhase("[aarch64-linux] ", "build .#default for aarch64-linux")
	r.Detail("[aarch64-linux] build .#default for aarch64-linux", "3/7 derivations")
	tick(1) // the announcement was written: the count starts over
	lines := r.Lines("[aarch64-linux] ", true)
	tick(5)
	lines.Write([]byte("hello> working\n")) // five quiet ticks, then a line
	tick(1)
	if strings.Contains(buf.String(), "still ") {
		t.Fatalf("a heartbeat before %s of silence:\n%s", HeartbeatEvery, buf.String())
	}
	clock = t0.Add(150 * time.Second)
	tick(6 + 1) // six quiet ticks; the seventh send returns once the sixth is handled
	clock = t0.Add(160 * time.Second)
	done(nil)
	for stopping := true; stopping; {
		select {
		case ticks <- time.Time{}:
		case <-stopped:
			stopping = false
		}
	}
	out := buf.String()
	want := "still [aarch64-linux] build .#default for aarch64-linux (2m30s, 3/7 derivations)\n"
	if strings.Count(out, "still ") != 1 || !strings.Contains(out, want) {
		t.Fatalf("want one heartbeat %q, got:\n%s", want, out)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{150 * time.Second: "2m30s", 4230 * time.Millisecond: "4.2s", 250 * time.Millisecond: "250ms"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
