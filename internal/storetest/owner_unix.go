//go:build !windows

package storetest

import (
	"os"
	"syscall"
)

// fileOwner is the uid owning a file.
func fileOwner(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }
