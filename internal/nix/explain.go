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
	// AdviceCredentials: an input needs credentials Nix was not given.
	AdviceCredentials AdviceKind = "credentials"
	// AdviceUnreachable: an input's host cannot be reached.
	AdviceUnreachable AdviceKind = "unreachable"
	// AdviceSandbox: Nix could not set its build sandbox up (and, with
	// sandbox-fallback = false, did not build).
	AdviceSandbox AdviceKind = "sandbox"
	// AdviceHostKey: ssh refused a remote builder whose host key is not
	// known (StrictHostKeyChecking=yes).
	AdviceHostKey AdviceKind = "host-key"
	// AdviceNoLocalBuilds: something had to be built, max-jobs is 0 and no
	// remote builder was configured.
	AdviceNoLocalBuilds AdviceKind = "no-local-builds"
	// AdviceEvaluation: Nix failed while evaluating the flake (a syntax,
	// type or name error), before any derivation could build.
	AdviceEvaluation AdviceKind = "evaluation"
	// AdviceNoSpace: a disk in the container (the store volume, the
	// daemon's data root) is full.
	AdviceNoSpace AdviceKind = "no-space"
)

// SandboxMessage is the advice whenever --sandbox cannot have what Nix's
// sandbox needs: from the daemon (refused or stripped security options)
// or from the kernel (no user namespaces).
const SandboxMessage = "--sandbox needs the daemon to allow the security options seccomp=unconfined and systempaths=unconfined, and the kernel to allow user namespaces (sysctl user.max_user_namespaces > 0); without them build without --sandbox"

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
	reNixTooOld  = regexp.MustCompile(`requires Nix >= ([0-9][0-9.]*[0-9])`)
	reTheInput   = regexp.MustCompile(`the input '([^']+)'`)
	reFetched    = regexp.MustCompile(`(?:git repository|unable to download|fetch) '([^']+)'`)
	reHTTPDenied = regexp.MustCompile(`HTTP error 40[134]`)
	reSSHDenied  = regexp.MustCompile(`([^\s:]+@[^\s:]+): Permission denied \(publickey`)
	// A file of the flake's source Nix cannot find (git does not track it),
	// as each path-reading builtin says it: import and builtins.path
	// ("path '…' does not exist"), readFile ("opening file"), readDir
	// ("reading directory", unquoted), pathExists and the rest ("getting
	// status of").
	reNoFile = regexp.MustCompile(`(?:getting status of|path|opening file) '(/nix/store/[0-9a-z]{32}-source/([^']+))'(?:: No such file or directory| does not exist)|reading directory (/nix/store/[0-9a-z]{32}-source/([^:\s]+)): No such file or directory`)
	// Nix's own words for an expression that cannot be evaluated, and the
	// trace it prints while evaluating.
	reEvaluation = regexp.MustCompile(`error: (?:syntax error|undefined variable '|cannot (?:add|coerce|convert)|value is [a-z ]+ while [a-z ]+ was expected|expected a |infinite recursion encountered|attribute '[^']+' missing|function '[^']*' called (?:without|with unexpected))|… while (?:evaluating|calling)`)
	reHostKey    = regexp.MustCompile(`(?:No \S+ host key is known for (\S+) and you have requested strict checking|Host key verification failed)`)
)

// Explain recognises known failures in Nix's stderr. It returns nil when the
// failure is not one it knows.
func Explain(stderr string) *Advice {
	if m := reSandbox.FindStringSubmatch(ansi.ReplaceAllString(stderr, "")); m != nil {
		return &Advice{Kind: AdviceSandbox, Path: m[1],
			Message: SandboxMessage}
	}
	// Before the missing-machine check: a refused builder also leaves
	// Nix without a machine for the system. The same ssh words under git's
	// fetch of an input are the input's (explainFetch).
	if m := reHostKey.FindStringSubmatch(stderr); m != nil && !fetchingInput(stderr) {
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
		rel := m[2] + m[4] // one of the two forms matched
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
	// Inputs are fetched while Nix evaluates, before anything builds: a
	// derivation's own failure (its builder could not reach the network
	// under --sandbox, say) is the derivation's, not an input's.
	if !strings.Contains(stderr, "error: builder for '") {
		if a := explainFetch(stderr, low); a != nil {
			return a
		}
	}
	if m := reMissingAttr.FindStringSubmatch(stderr); m != nil {
		return &Advice{Kind: AdviceAttribute, Path: m[1], Message: "the flake has no attribute " + m[1]}
	}
	if RefusedSubstitute(stderr) {
		return &Advice{Kind: AdviceUntrusted, Message: UntrustedMessage}
	}
	// Last: a substitute refused for its signature (above) or a machine
	// missing for the system also leave Nix unable to start any build,
	// and are the cause to name.
	if strings.Contains(stderr, "Unable to start any build") {
		return &Advice{Kind: AdviceNoLocalBuilds,
			Message: "with --max-jobs 0 Nix builds nothing in the container, and a path had to be built that no substituter had: raise --max-jobs, pass --builders with a machine for the system, or a --substituter that has the result"}
	}
	if strings.Contains(stderr, "No space left on device") {
		return &Advice{Kind: AdviceNoSpace,
			Message: "the Docker daemon's disk is full (the store's cache volume or its data root): `nixcross cache gc` or `nixcross cache prune` frees old stores, `docker system df` shows what else takes the space"}
	}
	// Last: a derivation that failed is the cause even when the log also
	// holds evaluation traces (its own, or a warning's).
	if !derivationFailed(stderr) && reEvaluation.MatchString(stderr) {
		return &Advice{Kind: AdviceEvaluation,
			Message: "Nix could not evaluate the flake, so nothing was built: the error above names the file and line (`nix flake check` shows it without building)"}
	}
	return nil
}

// fetchingInput reports whether the failure happened while Nix fetched an
// input (git's own words, or Nix naming the input or what it fetched).
func fetchingInput(stderr string) bool {
	return strings.Contains(stderr, "Could not read from remote repository") || reTheInput.MatchString(stderr) || reFetched.MatchString(stderr)
}

// explainFetch recognises an input Nix could not fetch: private (no or
// wrong credentials), an unknown ssh host key, or no network.
func explainFetch(stderr, low string) *Advice {
	input := "an input"
	if m := reTheInput.FindStringSubmatch(stderr); m != nil {
		// "while fetching the input" names it as flake.nix does.
		input = "input " + m[1]
	} else if m := reFetched.FindStringSubmatch(stderr); m != nil {
		input = "input " + m[1]
	} else if m := reSSHDenied.FindStringSubmatch(stderr); m != nil {
		// Older Nix names no input; ssh names the account it tried.
		input = "the input at " + m[1]
	}
	switch {
	case strings.Contains(stderr, "Host key verification failed"):
		return &Advice{Kind: AdviceCredentials, Path: input,
			Message: upperFirst(input) + ": the ssh host's key is not in ~/.ssh/known_hosts, and nixcross never accepts one unseen: check the key and add it (ssh-keyscan HOST >> ~/.ssh/known_hosts), or ssh to the host once"}
	case strings.Contains(stderr, "Permission denied (publickey") || strings.Contains(stderr, "Could not read from remote repository"):
		return &Advice{Kind: AdviceCredentials, Path: input,
			Message: upperFirst(input) + " is private over ssh: load your key into an ssh agent (ssh-add) and keep SSH_AUTH_SOCK set; nixcross lends the agent to Nix in the container (local daemons only; not with --no-forward-credentials)"}
	case reHTTPDenied.MatchString(stderr):
		return &Advice{Kind: AdviceCredentials, Path: input,
			Message: upperFirst(input) + " may be private (a host answers 404 without a token): give Nix a token, e.g. NIX_CONFIG='access-tokens = github.com=TOKEN' or access-tokens in ~/.config/nix/nix.conf, which nixcross hands to Nix for the run only"}
	case strings.Contains(low, "could not resolve host") || strings.Contains(low, "couldn't resolve host") ||
		strings.Contains(low, "temporary failure in name resolution") || strings.Contains(low, "network is unreachable") ||
		strings.Contains(low, "could not connect to server") || strings.Contains(low, "connection refused"):
		return &Advice{Kind: AdviceUnreachable, Path: input,
			Message: upperFirst(input) + " is unreachable from the build container (it has the Docker daemon's network): check that network, or build against a local checkout with --override-input NAME PATH"}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// derivationFailed reports whether Nix's log says a derivation's builder
// failed: "builder for '…' failed" (up to 2.2x), "Cannot build '…'" (later).
func derivationFailed(stderr string) bool {
	return strings.Contains(stderr, "builder for '") || strings.Contains(stderr, "Cannot build '")
}
