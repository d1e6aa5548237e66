//go:build !windows

package storetest

import (
	"os"
	"syscall"
)

// fileOwner is the uid owning a file.
func fileOwner(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }

// inode identifies a file's data, so that Tar writes a second name for it
// as a hard link.
func inode(fi os.FileInfo) (uint64, bool) { return fi.Sys().(*syscall.Stat_t).Ino, true }
