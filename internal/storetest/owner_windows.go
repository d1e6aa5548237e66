package storetest

import "os"

// fileOwner has no meaning on Windows, where os.Getuid is -1 too.
func fileOwner(fi os.FileInfo) int { return -1 }
