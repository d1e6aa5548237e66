package ui

import (
	"strings"
	"testing"
	"time"
)

// TestHeartbeat: off a terminal, a phase silent for a whole tick gets a
// line saying it is still going, with its elapsed time and detail; a tick
// after output gets none; the heartbeat stops with the last phase.
func TestHeartbeat(t *testing.T) {
	var buf syncBuffer
	r := New(&buf, Options{})
	t0 := time.Unix(0, 0)
	clock := t0
	r.now = func() time.Time { return clock }
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	r.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		if d != HeartbeatEvery {
			t.Errorf("ticker every %s", d)
		}
		return ticks, func() { close(stopped) }
	}
	done := r.LoggedPhase("[aarch64-linux] ", "build .#default for aarch64-linux")
	r.Detail("[aarch64-linux] build .#default for aarch64-linux", "3/7 derivations")
	ticks <- time.Time{} // the announcement was written since the start: no line
	clock = t0.Add(150 * time.Second)
	ticks <- time.Time{} // silent for a tick
	ticks <- time.Time{} // a tick's send returns once the previous one is handled
	lines := r.Lines("[aarch64-linux] ", true)
	lines.Write([]byte("hello> working\n"))
	ticks <- time.Time{}
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
	if strings.Count(out, "still ") != 2 || !strings.Contains(out, want) {
		t.Fatalf("want two heartbeats %q, got:\n%s", want, out)
	}
	if i, j := strings.LastIndex(out, "still "), strings.Index(out, "hello> working"); i > j {
		t.Errorf("a heartbeat after output within the same tick:\n%s", out)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{150 * time.Second: "2m30s", 4230 * time.Millisecond: "4.2s", 250 * time.Millisecond: "250ms"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
