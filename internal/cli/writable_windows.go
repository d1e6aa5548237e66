package cli

// writable is left to the export itself on Windows, which reports the
// failure with the path.
func writable(string) bool { return true }

func freeDisk(string) (int64, bool) { return 0, false }
