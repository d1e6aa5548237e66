package proc

import (
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"sync"
)

// Scope names where this process's PIDs mean something: the machine's
// boot and, on Linux, the PID namespace. Two nixcross processes with the
// same PID in different containers sharing an output directory have
// different scopes, so neither takes the other's live work for a dead
// run's leftovers. It is short and stable for the life of the process.
var Scope = sync.OnceValue(func() string {
	h := fnv.New32a()
	// Linux: the boot and the PID namespace. Elsewhere (no /proc) PIDs
	// are the machine's, and its name stands in.
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, nerr := os.Readlink("/proc/self/ns/pid")
	if err == nil && nerr == nil {
		h.Write(boot)
		h.Write([]byte(ns))
	} else {
		h.Write([]byte(Host()))
	}
	return fmt.Sprintf("%08x", h.Sum32())
})

// Boot is the kernel's boot ID ("" where there is none to read). The host
// kernel's, even inside a container: it tells a run of an earlier boot,
// whose processes are all gone, from a run in another PID namespace.
var Boot = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})
