package build

// processAlive is conservative where signalling a PID is not available:
// leftovers are then removed by `nixcross clean`.
func processAlive(pid int) bool { return true }
