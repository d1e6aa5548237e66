//go:build !windows

package closure

import (
	"errors"
	"syscall"
)

// processAlive asks the kernel whether pid exists. EPERM means it exists
// but belongs to someone else, which is alive all the same. A recycled PID
// merely delays the cleanup to a later run.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
