package proc

// Alive is conservative where a PID cannot be probed: leftovers are then
// never taken for dead (`nixcross clean` still removes containers).
func Alive(pid int) bool { return true }
