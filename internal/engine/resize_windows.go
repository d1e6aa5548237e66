package engine

import "os"

// Windows consoles have no SIGWINCH; the initial size is still sent.
func notifyResize(chan os.Signal) {}
