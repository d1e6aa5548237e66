package nix

import (
	"regexp"
	"strings"
)

// Advice is a line of help for a Nix failure nixcross recognises.
type Advice struct {
	Kind    string // "emulation", "untracked", "packages-nix", "attribute", "exec", "nix-version"
	Message string
	// System is the system that lacks emulation, for Kind "emulation".
	System string
	// Path is the file or attribute the advice is about; for Kind
	// "nix-version", the Nix version the flake asked for.
	Path string
}

var (
	reRequired    = regexp.MustCompile(`a '([^']+)' with features \{[^}]*\} is required to build`)
	reMissingAttr = regexp.MustCompile(`does not provide attribute '([^']+)'`)
	// nixpkgs' own check (default.nix, lib/minver.nix), which flakes that
	// import nixpkgs inherit.
	reNixTooOld = regexp.MustCompile(`requires Nix >= ([0-9][0-9.]*[0-9])`)
	reNoFile    = regexp.MustCompile(`(?:getting status of|path) '(/nix/store/[0-9a-z]{32}-source/([^']+))'(?:: No such file or directory| does not exist)`)
)

// Explain recognises known failures in Nix's stderr. It returns nil when the
// failure is not one it knows.
func Explain(stderr string) *Advice {
	if m := reRequired.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: "emulation", System: m[1],
			Message: "no machine Nix may use can build " + m[1] + ": check `nixcross binfmt status` (or run `nixcross binfmt install --system " + m[1] + "`), and with --builders, that a builder lists " + m[1] + " and allows it (extra-platforms on that machine)"}
	}
	low := strings.ToLower(stderr)
	if strings.Contains(low, "exec format error") || strings.Contains(low, "cannot execute binary file") {
		return &Advice{Kind: "exec",
			Message: "a builder could not be executed: the kernel has no working QEMU handler for its architecture; check `nixcross binfmt status` and run `nixcross binfmt install`"}
	}
	if m := reNoFile.FindStringSubmatch(stderr); m != nil {
		rel := m[2]
		if rel == "packages.nix" || strings.HasSuffix(rel, "/packages.nix") {
			return &Advice{Kind: "packages-nix", Path: rel,
				Message: "the flake expects packages.nix (the shelffiles layout): copy example/packages.nix to packages.nix and list your packages there, then `git add packages.nix`"}
		}
		return &Advice{Kind: "untracked", Path: rel,
			Message: "Nix only sees files git tracks: if " + rel + " exists, `git add " + rel + "` and build again"}
	}
	if m := reNixTooOld.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: "nix-version", Path: m[1],
			Message: "the flake needs Nix " + m[1] + " or later to evaluate: drop --image to use the built-in builder image, or use an image with a newer Nix"}
	}
	if m := reMissingAttr.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: "attribute", Path: m[1], Message: "the flake has no attribute " + m[1]}
	}
	return nil
}
