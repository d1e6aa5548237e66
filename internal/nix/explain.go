package nix

import (
	"regexp"
	"strings"
)

// AdviceKind is the kind of Nix failure nixcross recognised.
type AdviceKind string

const (
	// AdviceEmulation: no machine Nix may use can build the system.
	AdviceEmulation AdviceKind = "emulation"
	// AdviceExec: a builder's binary did not execute (no QEMU handler).
	AdviceExec AdviceKind = "exec"
	// AdviceUntracked: the flake names a file Nix does not see.
	AdviceUntracked AdviceKind = "untracked"
	// AdvicePackagesNix: the shelffiles layout lacks packages.nix.
	AdvicePackagesNix AdviceKind = "packages-nix"
	// AdviceAttribute: the flake has no such attribute.
	AdviceAttribute AdviceKind = "attribute"
	// AdviceNixVersion: the flake needs a newer Nix than the image's.
	AdviceNixVersion AdviceKind = "nix-version"
	// AdviceUntrusted: Nix refused a substitute no trusted key signed.
	AdviceUntrusted AdviceKind = "untrusted"
	// AdviceSandbox: Nix could not set its build sandbox up (and, with
	// sandbox-fallback = false, did not build).
	AdviceSandbox AdviceKind = "sandbox"
	// AdviceHostKey: ssh refused a remote builder whose host key is not
	// known (StrictHostKeyChecking=yes).
	AdviceHostKey AdviceKind = "host-key"
)

// UntrustedMessage explains Nix's refusal of a substitute: the paths are
// unsigned, or signed by a key the build does not trust.
const UntrustedMessage = "Nix refused paths from a substituter because no trusted key signed them (\"ignoring substitute … not signed by any of the keys in 'trusted-public-keys'\"): pass the cache's public key with --trusted-key NAME:BASE64 (the line in NAME.pub), and push with --sign-key NAME.sec of that same pair; Nix never accepts unsigned paths from a substituter"

// untrustedSubstitute ends Nix's warning when it skips a substitute for
// want of a trusted signature: "the substitute for '…' from '…' is not
// signed by …" (2.8), "ignoring substitute for '…' from '…', as it's not
// signed by …" (2.26).
const untrustedSubstitute = "not signed by any of the keys in 'trusted-public-keys'"

// RefusedSubstitute says whether Nix's log reports a substitute it
// refused for want of a trusted signature.
func RefusedSubstitute(log string) bool { return strings.Contains(log, untrustedSubstitute) }

// Advice is a line of help for a Nix failure nixcross recognises.
type Advice struct {
	Kind    AdviceKind
	Message string
	// System is the system that lacks emulation, for AdviceEmulation.
	System string
	// Path is the file or attribute the advice is about; for
	// AdviceNixVersion, the Nix version the flake asked for.
	Path string
}

var (
	reRequired    = regexp.MustCompile(`a '([^']+)' with features \{[^}]*\} is required to build`)
	reMissingAttr = regexp.MustCompile(`does not provide attribute '([^']+)'`)
	// Nix 2.8 to 2.26 when namespaces, mounts or pivot_root are refused.
	reSandbox = regexp.MustCompile(`(kernel namespaces that are required for sandboxing|cloning builder process: Operation not permitted|mounting /proc: Operation not permitted|cannot pivot old root directory|creating a user namespace|setting up a private mount namespace)`)
	// nixpkgs' own check (default.nix, lib/minver.nix), which flakes that
	// import nixpkgs inherit.
	reNixTooOld = regexp.MustCompile(`requires Nix >= ([0-9][0-9.]*[0-9])`)
	reHostKey   = regexp.MustCompile(`(?:No \S+ host key is known for (\S+) and you have requested strict checking|Host key verification failed)`)
	reNoFile    = regexp.MustCompile(`(?:getting status of|path) '(/nix/store/[0-9a-z]{32}-source/([^']+))'(?:: No such file or directory| does not exist)`)
)

// Explain recognises known failures in Nix's stderr. It returns nil when the
// failure is not one it knows.
func Explain(stderr string) *Advice {
	if m := reSandbox.FindStringSubmatch(ansi.ReplaceAllString(stderr, "")); m != nil {
		return &Advice{Kind: AdviceSandbox, Path: m[1],
			Message: "--sandbox needs the daemon to allow the security options seccomp=unconfined and systempaths=unconfined, and the kernel to allow user namespaces (sysctl user.max_user_namespaces > 0); without them build without --sandbox"}
	}
	// Before the missing-machine check: a refused builder also leaves
	// Nix without a machine for the system.
	if m := reHostKey.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: AdviceHostKey, Path: m[1],
			Message: "a --builders machine's host key is not known: check its fingerprint, then add it to ~/.ssh/known_hosts (ssh-keyscan HOST) or pass --builders-known-hosts FILE"}
	}
	if m := reRequired.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: AdviceEmulation, System: m[1],
			Message: "no machine Nix may use can build " + m[1] + ": check `nixcross binfmt status` (or run `nixcross binfmt install --system " + m[1] + "`), and with --builders, that a builder lists " + m[1] + " and allows it (extra-platforms on that machine)"}
	}
	low := strings.ToLower(stderr)
	if strings.Contains(low, "exec format error") || strings.Contains(low, "cannot execute binary file") {
		return &Advice{Kind: AdviceExec,
			Message: "a builder could not be executed: the kernel has no working QEMU handler for its architecture; check `nixcross binfmt status` and run `nixcross binfmt install`"}
	}
	if m := reNoFile.FindStringSubmatch(stderr); m != nil {
		rel := m[2]
		if rel == "packages.nix" || strings.HasSuffix(rel, "/packages.nix") {
			return &Advice{Kind: AdvicePackagesNix, Path: rel,
				Message: "the flake expects packages.nix (the shelffiles layout): copy example/packages.nix to packages.nix and list your packages there, then `git add packages.nix`"}
		}
		return &Advice{Kind: AdviceUntracked, Path: rel,
			Message: "Nix only sees files git tracks: if " + rel + " exists, `git add " + rel + "` and build again"}
	}
	if m := reNixTooOld.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: AdviceNixVersion, Path: m[1],
			Message: "the flake needs Nix " + m[1] + " or later to evaluate: drop --image to use the built-in builder image, or use an image with a newer Nix"}
	}
	if m := reMissingAttr.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: AdviceAttribute, Path: m[1], Message: "the flake has no attribute " + m[1]}
	}
	if RefusedSubstitute(stderr) {
		return &Advice{Kind: AdviceUntrusted, Message: UntrustedMessage}
	}
	return nil
}
