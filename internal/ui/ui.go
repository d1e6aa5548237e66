// Package ui owns what nixcross shows a person on stderr: phases with
// durations, a progress bar on terminals, plain lines elsewhere, and live
// Nix logs. Results never go here; they go to stdout.
package ui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Reporter writes human output. A nil *Reporter is silent.
type Reporter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool // draw spinners and bars (implies ANSI allowed)
	color bool
	width int
	quiet bool
	// barLine is the width of a transient line currently drawn, to clear it.
	barLine int
	now     func() time.Time
	// newTicker paces the spinner; tests drive it by hand. stop is called
	// when the spinner exits.
	newTicker func(d time.Duration) (ticks <-chan time.Time, stop func())
	// Phases in progress, newest last, for the terminal spinner; bars
	// counts progress bars drawing their own line.
	active   []*activePhase
	bars     int
	spinning bool
	// beating: off a terminal, beat runs; wrote: something was written
	// since its last tick (see outStamp).
	beating bool
	wrote   bool
}

type activePhase struct {
	label  string
	start  time.Time
	detail string // see Detail
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spin redraws the newest phase with a spinner and its elapsed time
// until no phase is active. Logs and results print above it (every
// writer clears the transient line first).
func (r *Reporter) spin() {
	ticks, stop := r.newTicker(100 * time.Millisecond)
	defer stop()
	for i := 0; ; i++ {
		<-ticks
		r.mu.Lock()
		if len(r.active) == 0 {
			r.spinning = false
			r.clearLocked()
			r.mu.Unlock()
			return
		}
		if r.bars == 0 {
			p := r.active[len(r.active)-1]
			line := fmt.Sprintf("%s %s %.1fs", spinnerFrames[i%len(spinnerFrames)], p.label, r.now().Sub(p.start).Seconds())
			if len(line) > r.width-1 {
				line = line[:r.width-1]
			}
			r.clearLocked()
			fmt.Fprint(r.w, line)
			r.barLine = len(line)
		}
		r.mu.Unlock()
	}
}

// Options configure a Reporter.
type Options struct {
	TTY     bool // stderr is a terminal
	NoColor bool // NO_COLOR set
	Width   int  // terminal width, 0 when unknown
	Quiet   bool // only errors
}

// New returns a Reporter writing to w.
func New(w io.Writer, o Options) *Reporter {
	width := o.Width
	if width <= 0 {
		width = 80
	}
	r := &Reporter{tty: o.TTY, color: o.TTY && !o.NoColor, width: width, quiet: o.Quiet, now: time.Now, newTicker: realTicker}
	r.w = &outStamp{w: w, wrote: &r.wrote}
	return r
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Quiet reports whether only errors are shown.
func (r *Reporter) Quiet() bool { return r == nil || r.quiet }

func (r *Reporter) clearLocked() {
	if r.barLine > 0 {
		fmt.Fprintf(r.w, "\r%s\r", strings.Repeat(" ", r.barLine))
		r.barLine = 0
	}
}

func (r *Reporter) style(code, s string) string {
	if !r.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Printf prints one line of information.
func (r *Reporter) Printf(format string, args ...any) {
	if r.Quiet() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	fmt.Fprintf(r.w, format, args...)
	if !strings.HasSuffix(format, "\n") {
		fmt.Fprintln(r.w)
	}
}

// Warnf prints a warning even when it is not an error. Its text is made
// visible (VisibleLines) whatever its arguments: warnings name what a
// build made, and escaping twice changes nothing where a caller did.
func (r *Reporter) Warnf(format string, args ...any) {
	if r.Quiet() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	fmt.Fprintf(r.w, "%s %s\n", r.style("33", "warning:"), VisibleLines(fmt.Sprintf(format, args...)))
}

// Phase announces a step and returns a function that closes it with its
// duration (or its failure). Off a terminal only the closing line is
// printed, unless announce is set (steps followed by their own logs).
func (r *Reporter) Phase(prefix, name string) func(err error) {
	return r.phase(prefix, name, false)
}

// LoggedPhase is a Phase whose start is printed everywhere, because
// output of its own (Nix's build log) follows.
func (r *Reporter) LoggedPhase(prefix, name string) func(err error) {
	return r.phase(prefix, name, true)
}

func (r *Reporter) phase(prefix, name string, announce bool) func(err error) {
	if r == nil {
		return func(error) {}
	}
	start := r.now()
	if !r.Quiet() && !r.tty && announce {
		r.Printf("%s%s ...", prefix, name)
	}
	var me *activePhase
	if !r.Quiet() {
		me = &activePhase{label: prefix + name, start: start}
		r.mu.Lock()
		r.active = append(r.active, me)
		switch {
		case r.tty && !r.spinning:
			r.spinning = true
			go r.spin()
		case !r.tty && !r.beating:
			r.beating = true
			go r.beat()
		}
		r.mu.Unlock()
	}
	return func(err error) {
		if me != nil {
			r.mu.Lock()
			for i, p := range r.active {
				if p == me {
					r.active = append(r.active[:i], r.active[i+1:]...)
					break
				}
			}
			r.mu.Unlock()
		}
		d := r.now().Sub(start).Round(10 * time.Millisecond)
		if err != nil {
			r.Printf("%s%s %s (%s)", prefix, name, r.style("31", "failed"), d)
			return
		}
		r.Printf("%s%s %s (%s)", prefix, name, r.style("32", "done"), d)
	}
}

// Bar is a byte progress indicator for a long copy.
type Bar struct {
	r      *Reporter
	label  string
	total  int64
	start  time.Time
	last   time.Time
	closed bool
}

// Progress starts a progress bar. Off a terminal it prints nothing until
// Done, so logs stay free of redraws.
func (r *Reporter) Progress(label string, total int64) *Bar {
	if r == nil {
		return &Bar{}
	}
	if r.tty && !r.quiet {
		r.mu.Lock()
		r.bars++
		r.mu.Unlock()
	}
	return &Bar{r: r, label: label, total: total, start: r.now()}
}

// Set updates the bar to n bytes done; redraws at most 10 times a second.
func (b *Bar) Set(n int64) {
	if b.r == nil || !b.r.tty || b.r.quiet || b.closed {
		return
	}
	now := b.r.now()
	if now.Sub(b.last) < 100*time.Millisecond && n < b.total {
		return
	}
	b.last = now
	rate := float64(n) / now.Sub(b.start).Seconds()
	text := fmt.Sprintf("%s %s/%s %s/s", b.label, Bytes(n), Bytes(b.total), Bytes(int64(rate)))
	barW := b.r.width - len(text) - 4
	var line string
	if barW >= 10 && b.total > 0 {
		fill := int(float64(barW) * float64(n) / float64(b.total))
		fill = min(fill, barW)
		line = "[" + strings.Repeat("=", fill) + strings.Repeat(" ", barW-fill) + "] " + text
	} else {
		line = text
	}
	if len(line) > b.r.width-1 {
		line = line[:b.r.width-1]
	}
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	b.r.clearLocked()
	fmt.Fprint(b.r.w, line)
	b.r.barLine = len(line)
}

// Done removes the bar.
func (b *Bar) Done() {
	if b.r == nil || b.closed {
		return
	}
	b.closed = true
	b.r.mu.Lock()
	if b.r.tty && !b.r.quiet {
		b.r.bars--
	}
	b.r.clearLocked()
	b.r.mu.Unlock()
}

// Bytes formats a byte count for people (1.5 MiB).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// LineWriter passes whole lines to the Reporter's writer, each with a
// prefix, so parallel builds' logs interleave by line, never mid-line. It
// also keeps the last lines for error reports.
type LineWriter struct {
	// OnLine, when set, sees every whole line as it arrives, to follow
	// progress in a log without parsing the stream a second time.
	OnLine func(line string)
	r      *Reporter
	prefix string
	show   bool
	buf    []byte
	tail   []string
	keep   int
}

// Lines returns a writer for a live log stream. show=false only records
// the tail (for --quiet, shown if the build fails).
func (r *Reporter) Lines(prefix string, show bool) *LineWriter {
	return &LineWriter{r: r, prefix: prefix, show: show && !r.Quiet(), keep: 60}
}

func (l *LineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *LineWriter) line(s string) {
	s = strings.TrimRight(s, "\r")
	if l.OnLine != nil {
		l.OnLine(s)
	}
	l.tail = append(l.tail, s)
	if len(l.tail) > l.keep {
		l.tail = l.tail[len(l.tail)-l.keep:]
	}
	if l.show && l.r != nil {
		l.r.mu.Lock()
		l.r.clearLocked()
		fmt.Fprintf(l.r.w, "%s%s\n", l.prefix, s)
		l.r.mu.Unlock()
	}
}

// Flush emits a trailing partial line.
func (l *LineWriter) Flush() {
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}

// Tail returns the last lines seen.
func (l *LineWriter) Tail() string { return strings.Join(l.tail, "\n") }
