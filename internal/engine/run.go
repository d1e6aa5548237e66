package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nixcross/nixcross/internal/proc"
)

// RunID is this invocation's LabelRun value, "host:pid".
func RunID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// RunAlive reports whether a LabelRun value names a process alive on this
// machine. Runs of other machines count as alive: only they can tell.
func RunAlive(run string) bool {
	h, pidStr, ok := strings.Cut(run, ":")
	if !ok {
		return false
	}
	if host, _ := os.Hostname(); h != host {
		return true
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		return false
	}
	return proc.Alive(pid)
}
