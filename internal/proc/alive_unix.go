//go:build !windows

package proc

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// Alive asks the kernel whether pid exists and has not exited. EPERM means
// it exists but belongs to someone else, which is alive all the same. A
// process that exited but is not reaped yet (a zombie: a SIGKILLed run
// whose parent has not waited for it) still answers signals, so on Linux
// its state in /proc decides: it will never write or finish anything
// again. A recycled PID merely delays a cleanup to a later run.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err != nil || !exited(stat)
}

// exited reads the state in a /proc/PID/stat line: Z (zombie) or X
// (dead) for a process that has exited. The state follows the command
// name in parentheses, which may itself hold spaces and parentheses, so
// it is found after the last ')'.
func exited(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	switch stat[i+2] {
	case 'Z', 'X', 'x':
		return true
	}
	return false
}
