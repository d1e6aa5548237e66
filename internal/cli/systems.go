package cli

import (
	"fmt"
	"slices"
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
	if _, err := listNames("--system", "system", values, emptySystemHint); err != nil {
		return nil, err
	}
	return system.ParseList(values)
}

// listNames splits a list flag's values at commas, refusing an empty or
// blank name (a CI variable that was never set) with a usage error.
func listNames(flag, what string, values []string, hint string) ([]string, error) {
	var names []string
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if strings.TrimSpace(name) == "" {
				return nil, status.Usage(fmt.Errorf("%s %q has an empty %s name", flag, v, what), hint)
			}
			names = append(names, name)
		}
	}
	return names, nil
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

// parsePlatforms reads --platform values (comma-separated Docker platform
// names, as docker buildx takes them) as systems, after those of --system.
func parsePlatforms(values []string, systems []system.System) ([]system.System, error) {
	names, err := listNames("--platform", "platform", values, "name a platform such as linux/arm64")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		s, ok := system.FromPlatform(name)
		if !ok {
			return nil, status.Usage(fmt.Errorf("unsupported platform %q", name), platformHint(name))
		}
		if !slices.Contains(systems, s) {
			systems = append(systems, s)
		}
	}
	return systems, nil
}

// platformHint names the platform meant by name, or every one there is.
func platformHint(name string) string {
	if near, ok := system.Suggest(name); ok {
		if p, ok := near.Platform(); ok {
			return "did you mean " + p.OS + "/" + p.Architecture + "?"
		}
	}
	var all []string
	for _, s := range system.LinuxSystems() {
		if p, ok := s.Platform(); ok {
			all = append(all, p.String())
		}
	}
	return "platforms: " + strings.Join(all, ", ")
}
