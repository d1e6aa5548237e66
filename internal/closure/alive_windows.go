package closure

// processAlive is conservative where a PID cannot be probed: temporaries
// are then never removed by OpenStore, only ignored.
func processAlive(pid int) bool { return true }
