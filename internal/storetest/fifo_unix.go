//go:build !windows

package storetest

import "syscall"

// Mkfifo makes a named pipe at p: a file type no NAR can hold.
func Mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }
