package binfmt

import (
	"strings"

	"github.com/nixcross/nixcross/internal/system"
)

// Kind is why a foreign binary did not run.
type Kind int

const (
	// OK: it ran.
	OK Kind = iota
	// NoHandler: the kernel has no binfmt_misc entry for the machine
	// ("exec format error").
	NoHandler
	// NoInterpreter: an entry matched but the kernel could not open its
	// interpreter ("no such file or directory"): the entry lacks the F flag
	// and names a path missing in that container, or the path is wrong.
	NoInterpreter
	// Other: anything else (a crash, a killed process, a refused exec).
	Other
)

func (k Kind) String() string {
	switch k {
	case OK:
		return "ok"
	case NoHandler:
		return "no-handler"
	case NoInterpreter:
		return "no-interpreter"
	default:
		return "other"
	}
}

// MarshalText gives JSON output the names above.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Diagnosis says why a system's binaries do not run and what fixes it.
type Diagnosis struct {
	Kind        Kind   `json:"kind"`
	Cause       string `json:"cause,omitempty"`       // the line of output that decided the kind
	Explanation string `json:"explanation,omitempty"` // for a person, one sentence
	Hint        string `json:"hint,omitempty"`        // the command or action that fixes it
}

// Diagnose classifies the output of a foreign program that failed to run
// (a probe, or a Nix builder) and the error its run returned. Matching is
// case-insensitive: runc says "exec format error", Nix and shells print
// strerror's "Exec format error".
func Diagnose(output string, err error) Diagnosis {
	return DiagnoseSystem(system.System{}, output, err)
}

// DiagnoseSystem is Diagnose with the system known, so the hint names it.
func DiagnoseSystem(s system.System, output string, err error) Diagnosis {
	text := output
	if err != nil {
		text += "\n" + err.Error()
	}
	install := "nixcross binfmt install"
	name := "this system"
	if !s.IsZero() {
		install += " --system " + s.String()
		name = s.String()
	}
	lower := strings.ToLower(text)
	switch {
	case strings.Contains(lower, "exec format error"):
		return Diagnosis{
			Kind:        NoHandler,
			Cause:       causeLine(text, "exec format error"),
			Explanation: "the kernel has no binfmt_misc handler for " + name + " binaries, so it cannot run them",
			Hint: "register QEMU for it: `" + install + "` (stays until `nixcross binfmt uninstall`); " +
				"`nixcross build` registers it for the length of a build by itself",
		}
	case strings.Contains(lower, "qemu") && strings.Contains(lower, "could not open"):
		// QEMU itself ran, so a handler exists; it is the emulated
		// program's own dynamic loader that is missing.
		return Diagnosis{
			Kind:        Other,
			Cause:       causeLine(text, "could not open"),
			Explanation: "QEMU started but could not open a file the " + name + " program needs (usually its dynamic loader)",
			Hint:        "make sure the program's libraries for " + name + " are present, or build it statically",
		}
	case strings.Contains(lower, "no such file or directory"):
		return Diagnosis{
			Kind:  NoInterpreter,
			Cause: causeLine(text, "no such file or directory"),
			Explanation: "a binfmt_misc handler for " + name + " exists but the kernel cannot open its interpreter: " +
				"it was registered without the F flag and its QEMU is not in this container, or its path is wrong",
			Hint: "run `" + install + "` (its handler has the F flag and takes precedence; the host's stays as it is), " +
				"or re-register the host's handler with the F flag (Debian/Ubuntu: install qemu-user-static)",
		}
	case err == nil && strings.TrimSpace(output) == strings.TrimSpace(probeMessage):
		return Diagnosis{Kind: OK}
	default:
		return Diagnosis{
			Kind:        Other,
			Cause:       causeLine(text, ""),
			Explanation: name + " binaries did not run, for a reason other than a missing handler or interpreter",
			Hint:        "run `nixcross doctor` for the state of emulation on this Docker host",
		}
	}
}

// causeLine picks the line of text that mentions sub (case-insensitive),
// or the last non-empty line.
func causeLine(text, sub string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if sub != "" {
		for _, l := range lines {
			if strings.Contains(strings.ToLower(l), sub) {
				return strings.TrimSpace(l)
			}
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
