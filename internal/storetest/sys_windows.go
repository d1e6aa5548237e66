package storetest

import "os"

// fileOwner has no meaning on Windows, where os.Getuid is -1 too.
func fileOwner(fi os.FileInfo) int { return -1 }

// inode is unknown on Windows: Tar writes every name as a file of its own.
func inode(fi os.FileInfo) (uint64, bool) { return 0, false }
