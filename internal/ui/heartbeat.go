package ui

import (
	"fmt"
	"io"
	"time"
)

// HeartbeatEvery is how long a phase may stay silent off a terminal
// before a line says it is still going: a CI log then shows life (and
// what it is waiting on) through a long emulated build.
const HeartbeatEvery = 30 * time.Second

// outStamp notes that something was written. Every write happens under
// the Reporter's lock, which guards wrote.
type outStamp struct {
	w     io.Writer
	wrote *bool
}

func (o *outStamp) Write(p []byte) (int, error) {
	*o.wrote = true
	return o.w.Write(p)
}

// beat prints, off a terminal, a line for the newest phase when nothing
// was written between two ticks HeartbeatEvery apart, until no phase is
// active.
func (r *Reporter) beat() {
	ticks, stop := r.newTicker(HeartbeatEvery)
	defer stop()
	for {
		<-ticks
		r.mu.Lock()
		if len(r.active) == 0 {
			r.beating = false
			r.mu.Unlock()
			return
		}
		if !r.wrote {
			now, p := r.now(), r.active[len(r.active)-1]
			detail := ""
			if p.detail != "" {
				detail = ", " + p.detail
			}
			fmt.Fprintf(r.w, "still %s (%s%s)\n", p.label, Duration(now.Sub(p.start)), detail)
		}
		r.wrote = false
		r.mu.Unlock()
	}
}

// Detail adds what a phase has got through so far ("3/7 derivations") to
// its heartbeat lines; label is its prefix and name.
func (r *Reporter) Detail(label, detail string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.active {
		if p.label == label {
			p.detail = detail
		}
	}
}

// Duration is how nixcross writes a span of time: to the second past a
// minute (2m30s), to the tenth below it (4.2s), in ms below a second.
func Duration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// Count is n things, in the plural unless there is one: "1 path", "2 paths".
func Count(n int, thing string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", thing)
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
