// Package proc answers one question about this machine's processes: is a
// PID alive. Run labels and export temporaries carry the PID of the
// nixcross that made them, so leftovers of killed runs can be told from
// the work of live ones.
package proc
