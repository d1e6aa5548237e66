// Package proc answers two questions about this machine's processes: is a
// PID alive, and where are PIDs comparable at all (Scope). Run labels and
// export temporaries carry the PID of the nixcross that made them, so
// leftovers of killed runs can be told from the work of live ones.
package proc
