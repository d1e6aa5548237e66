//go:build !windows

package proc

import (
	"errors"
	"syscall"
)

// Alive asks the kernel whether pid exists. EPERM means it exists but
// belongs to someone else, which is alive all the same. A recycled PID
// merely delays a cleanup to a later run.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
