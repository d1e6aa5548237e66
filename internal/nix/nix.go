// Package nix owns how nixcross talks to Nix inside the build container:
// the flake reference and attribute to build, the exact `nix build` and
// `nix path-info` command lines (Nix 2.8 and later), parsing their JSON, and
// turning Nix's known failures into advice.
package nix

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/system"
)

// Installable is what to build: a flake and an attribute for one system.
type Installable struct {
	Flake string // flake reference as Nix sees it inside the container
	Attr  string // "default", "hello", or a full path "packages.x86_64-linux.hello"
}

// SplitRef splits "FLAKE#attr" into its parts; the flake defaults to "."
// and the attribute to "default".
func SplitRef(ref string) (flake, attr string) {
	flake, attr, _ = strings.Cut(ref, "#")
	if flake == "" {
		flake = "."
	}
	if attr == "" {
		attr = "default"
	}
	return flake, attr
}

// AttrPath is the flake output attribute built for s: a bare name selects
// packages.<system>.<name>; a path starting with a known output kind is
// used as given.
func AttrPath(attr string, s system.System) string {
	for _, p := range []string{"packages.", "legacyPackages.", "checks.", "devShells.", "apps."} {
		if strings.HasPrefix(attr, p) {
			return attr
		}
	}
	return "packages." + s.String() + "." + attr
}

// Option is one `--option NAME VALUE` pair.
type Option struct{ Name, Value string }

// InputOverride is one `--override-input NAME FLAKEREF`: Ref as Nix in
// the container must read it (local paths absolute).
type InputOverride struct{ Name, Ref string }

// BuildFlags are the user's knobs for `nix build`.
type BuildFlags struct {
	Options   []Option
	Overrides []InputOverride
	Cores     int
	// MaxJobs is nil for Nix's own default; 0 builds nothing locally,
	// only on remote builders.
	MaxJobs    *int
	Verbose    bool
	KeepFailed bool
	// Substituters and TrustedKeys add to Nix's lists (extra-substituters,
	// extra-trusted-public-keys) rather than replace them.
	Substituters []string
	TrustedKeys  []string
	// Extra is everything after `--` on nixcross's command line, passed to
	// `nix build` unchanged.
	Extra []string
}

// BuildCommand is the `nix build` command line run in the container. The
// result goes to stdout as JSON; --no-write-lock-file because the flake is
// mounted read-only and a flake without flake.lock must still build.
func BuildCommand(in Installable, s system.System, gcRoot string, f BuildFlags) []string {
	cmd := []string{"nix", "build", "--json", "--no-write-lock-file"}
	if gcRoot != "" {
		// The out-link inside the cache volume is a GC root, so `cache gc`
		// keeps what recent results need.
		cmd = append(cmd, "--out-link", gcRoot)
	} else {
		cmd = append(cmd, "--no-link")
	}
	cmd = append(cmd, "--option", "extra-platforms", s.String())
	if f.Cores > 0 {
		cmd = append(cmd, "--cores", fmt.Sprint(f.Cores))
	}
	if f.MaxJobs != nil {
		cmd = append(cmd, "--max-jobs", fmt.Sprint(*f.MaxJobs))
	}
	// -L: builders' logs stream live, line by line, instead of Nix's
	// progress summary, which off a terminal shows nothing until the end.
	cmd = append(cmd, "-L")
	if f.Verbose {
		cmd = append(cmd, "-v")
	}
	if f.KeepFailed {
		cmd = append(cmd, "--keep-failed")
	}
	for _, o := range f.Options {
		cmd = append(cmd, "--option", o.Name, o.Value)
	}
	// After the user's options: Nix applies them in order, so a
	// `--option substituters ''` empties the defaults and ours still count.
	if len(f.Substituters) > 0 {
		cmd = append(cmd, "--option", "extra-substituters", strings.Join(f.Substituters, " "))
	}
	if len(f.TrustedKeys) > 0 {
		cmd = append(cmd, "--option", "extra-trusted-public-keys", strings.Join(f.TrustedKeys, " "))
	}
	cmd = append(cmd, OverrideArgs(f.Overrides)...)
	cmd = append(cmd, f.Extra...)
	return append(cmd, in.Flake+"#"+AttrPath(in.Attr, s))
}

// OverrideArgs are the --override-input arguments for any flake command.
func OverrideArgs(overrides []InputOverride) []string {
	var args []string
	for _, o := range overrides {
		args = append(args, "--override-input", o.Name, o.Ref)
	}
	return args
}

// ClosureMarker separates `nix build`'s JSON from the closure's in the
// output of BuildScript.
const ClosureMarker = "@@nixcross-closure@@"

// BuildScript runs build (a BuildCommand) and then, in the same exec, the
// closure query of its outputs: one round trip to the daemon instead of
// two, which is most of what a no-op rebuild costs beyond the container.
// prelude runs first (may be empty). Stdout is the build's JSON, the
// marker line, then `nix path-info --json --recursive`; a failed build
// exits with Nix's status.
func BuildScript(prelude string, build []string) []string {
	script := "set -e\n" + prelude + "\n" + `json=$("$@")
printf '%s\n' "$json" "` + ClosureMarker + `"
paths=$(printf '%s\n' "$json" | grep -o '"/nix/store/[^"]*"' | tr -d '"' | grep -v '\.drv$')
exec nix path-info --json --recursive $paths`
	return append([]string{"sh", "-c", script, "nix-build"}, build...)
}

// SplitBuildOutput splits BuildScript's stdout into the two JSON documents.
func SplitBuildOutput(out []byte) (build, closure []byte, err error) {
	b, c, ok := strings.Cut(string(out), ClosureMarker+"\n")
	if !ok {
		return nil, nil, fmt.Errorf("nix build output lacks the closure (output was %q)", truncate(string(out), 200))
	}
	return []byte(b), []byte(c), nil
}

// Push is one `nix copy` of built paths to a store.
type Push struct {
	URL   string   // the store, as Nix in the container reaches it
	Paths []string // what to push
	// Closure pushes the paths' closure, otherwise the paths alone.
	Closure bool
	// KeyFile is a secret key file in the container that signs the paths
	// in the local store first ("" for unsigned): Nix carries a path's
	// signatures along, so the store's narinfo lists ours.
	KeyFile string
	// ChownDir, when set, is handed to ChownTo ("UID:GID") afterwards: a
	// host directory the container's root wrote into.
	ChownDir, ChownTo string
	// Options are the user's --option settings, for every Nix command the
	// push runs as for the build (ssl-cert-file, connect-timeout, …).
	Options []Option
}

// PushScript is the command line that does p, stopping at the first
// failure.
func PushScript(p Push) []string {
	script := "set -e\n"
	opts := ""
	for _, o := range p.Options {
		opts += fmt.Sprintf("--option %s %s ", shell.Quote(o.Name), shell.Quote(o.Value))
	}
	if p.KeyFile != "" {
		rec := ""
		if p.Closure {
			rec = "--recursive "
		}
		script += fmt.Sprintf("nix store sign %s%s--key-file %s \"$@\"\n", opts, rec, shell.Quote(p.KeyFile))
	}
	// nix copy pushes closures unless told otherwise.
	rec := "--no-recursive "
	if p.Closure {
		rec = ""
	}
	script += fmt.Sprintf("nix copy %s%s--to %s \"$@\"\n", opts, rec, shell.Quote(p.URL))
	if p.ChownDir != "" {
		script += fmt.Sprintf("chown -R %s %s\n", shell.Quote(p.ChownTo), shell.Quote(p.ChownDir))
	}
	return append([]string{"sh", "-c", script, "nix-push"}, p.Paths...)
}

// DumpCommand streams the NAR serialisation of each path, concatenated.
func DumpCommand(paths []string) []string {
	return append([]string{"sh", "-c", `for p in "$@"; do nix-store --dump "$p" || exit 1; done`, "nix-dump"}, paths...)
}

// BuildResult is one entry of `nix build --json`.
type BuildResult struct {
	DrvPath string            `json:"drvPath"`
	Outputs map[string]string `json:"outputs"`
}

// ParseBuildJSON returns the output paths from `nix build --json`, in a
// stable order ("out" first).
func ParseBuildJSON(data []byte) ([]string, error) {
	var results []BuildResult
	if err := json.Unmarshal(data, &results); err != nil {
		return nil, fmt.Errorf("parse nix build output: %w (output was %q)", err, truncate(string(data), 200))
	}
	var outs []string
	for _, r := range results {
		names := make([]string, 0, len(r.Outputs))
		for n := range r.Outputs {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			if (names[i] == "out") != (names[j] == "out") {
				return names[i] == "out"
			}
			return names[i] < names[j]
		})
		for _, n := range names {
			outs = append(outs, r.Outputs[n])
		}
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("nix build reported no outputs")
	}
	return outs, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Derivations maps each output path in `nix build --json` to the
// derivation that built it.
func Derivations(data []byte) (map[string]string, error) {
	var results []BuildResult
	if err := json.Unmarshal(data, &results); err != nil {
		return nil, fmt.Errorf("parse nix build output: %w", err)
	}
	drvs := map[string]string{}
	for _, r := range results {
		for _, out := range r.Outputs {
			drvs[out] = r.DrvPath
		}
	}
	return drvs, nil
}
