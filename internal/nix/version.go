package nix

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a Nix release as `nix --version` reports it.
type Version struct {
	Major, Minor, Patch int
	// Text is the whole first line, e.g. "nix (Nix) 2.26.3", which names
	// the implementation too (Lix, Determinate Nix).
	Text string
}

// MinVersion is the oldest Nix nixcross builds with: nixpkgs refuses to
// evaluate with anything older (lib/minver.nix, since August 2025), and
// the JSON nixcross reads is tested from here on.
var MinVersion = Version{Major: 2, Minor: 18}

// VersionCommand prints the Nix version; run once per image and run.
func VersionCommand() []string { return []string{"nix", "--version"} }

// StoreTypesCommand lists the kinds of store this Nix can open, by their
// names (Nix 2.19 and later; older ones fail).
func StoreTypesCommand() []string { return []string{"nix", "help-stores"} }

// S3StoreName is how StoreTypesCommand names the S3 binary cache store
// when Nix was built with it.
const S3StoreName = "S3 Binary Cache Store"

// The version is the last field: "nix (Nix) 2.26.3",
// "nix (Lix, like Nix) 2.93.0", "nix (Determinate Nix 3.6.2) 2.29.0",
// "nix (Nix) 2.31.0pre20250712_abcdef".
var reVersion = regexp.MustCompile(`(\d+)\.(\d+)(?:\.(\d+))?\S*\s*$`)

// ParseVersion reads the output of VersionCommand.
func ParseVersion(out string) (Version, error) {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	line = strings.TrimSpace(line)
	m := reVersion.FindStringSubmatch(line)
	if m == nil || !strings.HasPrefix(line, "nix") {
		return Version{}, fmt.Errorf("not a Nix version: %q", truncate(line, 80))
	}
	v := Version{Text: line}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	return v, nil
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Supported reports whether nixcross can build with v, and if not why.
func (v Version) Supported() error {
	if v.Less(MinVersion) {
		return fmt.Errorf("the image's Nix is %s; nixcross needs Nix %d.%d or later (nixpkgs requires it to evaluate)", v, MinVersion.Major, MinVersion.Minor)
	}
	return nil
}
