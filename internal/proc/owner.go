package proc

import (
	"os"
	"sync"
)

// Owner is the process that made something, as recorded on it: the
// machine's name, the PID, and where that PID is comparable (Scope, Boot).
// Scope and Boot are empty on records of nixcross versions that did not
// write them.
type Owner struct {
	Host  string
	PID   int
	Scope string
	Boot  string
}

// Host is this machine's name as records name it ("" when unknown).
var Host = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// Self is this process as an Owner.
func Self() Owner {
	return Owner{Host: Host(), PID: os.Getpid(), Scope: Scope(), Boot: Boot()}
}

// Gone reports whether the owner has certainly exited. It is the one
// liveness rule for run labels: what it cannot tell counts as running.
//
// The host name alone is not enough: a container sharing the host's name
// (--network host) has PIDs of its own namespace, so host:pid would take
// its live run for a dead one here. Scope (boot and PID namespace) says
// when PIDs compare at all; Boot tells an earlier boot (everything gone)
// from another namespace (cannot tell).
func (o Owner) Gone() bool {
	self := Self()
	switch {
	case o.Host != self.Host:
		return false // another machine: only it can tell
	case o.Boot != "" && self.Boot != "" && o.Boot != self.Boot:
		return true // the machine rebooted since
	case o.Scope != "" && o.Scope != self.Scope:
		return false // another PID namespace
	}
	return !Alive(o.PID)
}
