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
	return fmt.Sprintf("%s:%d", proc.Host(), os.Getpid())
}

// RunLabels are the labels that tie a container to this invocation, so
// that later runs and `nixcross clean` can tell whether it is still alive
// (see proc.Owner).
func RunLabels() []string {
	return []string{LabelRun, RunID(), LabelRunScope, proc.Scope(), LabelRunBoot, proc.Boot()}
}

// RunAlive reports whether a LabelRun value names a process alive on this
// machine. Runs of other machines count as alive: only they can tell.
func RunAlive(run string) bool {
	st := runState(map[string]string{LabelRun: run})
	return st == RunThis || st == RunLive
}

// RunState is how a container's run relates to this process.
type RunState int

const (
	// RunNone: no run label (made by a command that does not outlive it).
	RunNone RunState = iota
	// RunThis: this invocation made it.
	RunThis
	// RunLive: a run that is still going, or one this machine cannot judge.
	RunLive
	// RunDead: the run that made it has exited.
	RunDead
)

// runState reads the run labels with proc's liveness rule; a malformed
// label counts as dead.
func runState(labels map[string]string) RunState {
	run := labels[LabelRun]
	if run == "" {
		return RunNone
	}
	scope := labels[LabelRunScope]
	if run == RunID() && (scope == "" || scope == proc.Scope()) {
		return RunThis
	}
	host, pidStr, ok := strings.Cut(run, ":")
	if !ok {
		return RunDead
	}
	o := proc.Owner{Host: host, Scope: scope, Boot: labels[LabelRunBoot]}
	if host != proc.Host() {
		return RunLive
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		return RunDead
	}
	o.PID = pid
	if o.Gone() {
		return RunDead
	}
	return RunLive
}
