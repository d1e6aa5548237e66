package ui

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	cases := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1902136: "1.8 MiB", 206 << 20: "206.0 MiB", 3 << 30: "3.0 GiB"}
	for n, want := range cases {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func fixedClock() func() time.Time {
	t0 := time.Unix(0, 0)
	n := 0
	return func() time.Time { n++; return t0.Add(time.Duration(n) * 250 * time.Millisecond) }
}

func TestPlainOutput(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Options{})
	r.now = fixedClock()
	r.Phase("", "image")(nil)
	done := r.LoggedPhase("[aarch64-linux] ", "build")
	l := r.Lines("[aarch64-linux] ", true)
	l.Write([]byte("hello> one\nhello> tw"))
	l.Write([]byte("o\n"))
	done(errors.New("x"))
	bar := r.Progress("export", 100)
	bar.Set(50)
	bar.Done()
	r.Warnf("careful")
	want := "image done (250ms)\n[aarch64-linux] build ...\n[aarch64-linux] hello> one\n[aarch64-linux] hello> two\n[aarch64-linux] build failed (250ms)\nwarning: careful\n"
	if buf.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", buf.String(), want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Fatal("ANSI escape off a terminal")
	}
}

func TestQuietKeepsTail(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Options{Quiet: true})
	r.Phase("", "image")(nil)
	l := r.Lines("", true)
	l.Write([]byte("a\nb\nc"))
	l.Flush()
	if buf.Len() != 0 {
		t.Fatalf("quiet printed %q", buf.String())
	}
	if l.Tail() != "a\nb\nc" {
		t.Fatalf("tail = %q", l.Tail())
	}
}

func TestTerminalProgress(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Options{TTY: true, Width: 60})
	r.now = fixedClock()
	bar := r.Progress("export", 1000)
	bar.Set(500)
	bar.Set(1000)
	bar.Done()
	out := buf.String()
	if !strings.Contains(out, "[") || !strings.Contains(out, "1000 B/1000 B") || !strings.HasSuffix(out, "\r") {
		t.Fatalf("terminal bar output %q", out)
	}
	for _, line := range strings.Split(out, "\r") {
		if len(line) > 59 {
			t.Fatalf("bar wider than the terminal: %q", line)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the spinner goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The spinner is driven tick by tick: an unbuffered channel stands in for
// the ticker. A send returns once the spinner has taken the tick, so the
// next send returns once it has finished drawing that tick's frame. The
// ticker's stop tells the test the spinner goroutine has returned.
func TestTerminalSpinner(t *testing.T) {
	var buf syncBuffer
	r := New(&buf, Options{TTY: true, Width: 80})
	r.now = fixedClock()
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	r.newTicker = func(time.Duration) (<-chan time.Time, func()) {
		return ticks, func() { close(stopped) }
	}
	done := r.Phase("", "image")
	for range 3 { // frames 0 and 1 drawn
		ticks <- time.Time{}
	}
	if out := buf.String(); !strings.Contains(out, spinnerFrames[0]+" image") || !strings.Contains(out, spinnerFrames[1]+" image") {
		t.Fatalf("want spinner frames 0 and 1, got %q", out)
	}
	done(nil)
	for stopping := true; stopping; { // the spinner sees no phase and stops
		select {
		case ticks <- time.Time{}:
		case <-stopped:
			stopping = false
		}
	}
	out := buf.String()
	m := regexp.MustCompile(`(?s)(?:^|\r)([^\r]*)\r( +)\rimage \x1b\[32mdone\x1b\[0m \([0-9.]+m?s\)\n$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(m[1], " image ") || len(m[2]) != len(m[1]) {
		t.Fatalf("the last frame is not cleared before the done line: %q", out)
	}
	r.mu.Lock()
	spinning := r.spinning
	r.mu.Unlock()
	if spinning {
		t.Fatal("spinner still running with no phase")
	}
}
