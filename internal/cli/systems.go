package cli

import (
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// systemsFlag is a --system that takes several systems. It keeps every
// value as typed, where pflag's StringSlice turns an empty --system into no
// value at all: an empty value (a CI variable that was never set) must be
// refused, not read as "the default system", which builds the host's
// architecture and succeeds.
type systemsFlag struct{ values *[]string }

func (f systemsFlag) Set(v string) error {
	*f.values = append(*f.values, v)
	return nil
}

func (f systemsFlag) String() string {
	if f.values == nil {
		return ""
	}
	return strings.Join(*f.values, ",")
}

// Type keeps the help's "strings", as the StringSlice this replaced.
func (f systemsFlag) Type() string { return "strings" }

// emptySystemHint is the advice under an empty --system.
const emptySystemHint = "name a system such as aarch64-linux, or leave --system out for the Docker host's own"

// parseSystems reads the values of a systemsFlag: comma-separated names,
// none of them empty or blank. No value at all is no systems (the
// command's default).
func parseSystems(values []string) ([]system.System, error) {
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if strings.TrimSpace(name) == "" {
				return nil, status.Usage(fmt.Errorf("--system %q has an empty system name", v), emptySystemHint)
			}
		}
	}
	return system.ParseList(values)
}

// parseSystem reads a --system that takes one system; set is whether the
// flag was given, so that an empty --system is refused rather than read as
// the default.
func parseSystem(value string, set bool) (system.System, error) {
	if !set {
		return system.System{}, nil
	}
	if strings.TrimSpace(value) == "" {
		return system.System{}, status.Usage(fmt.Errorf("--system %q names no system", value), emptySystemHint)
	}
	return system.Parse(value)
}
