package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/docker/go-units"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// parseBuildRequest validates everything that needs no Docker.
func parseBuildRequest(o buildOptions, ref string, nixArgs []string) (build.Request, build.FlakeSource, error) {
	flakeRef, attr := nix.SplitRef(ref)
	req := build.Request{
		Flake: flakeRef, Attr: attr, OutLink: o.outLink, Image: o.image, NoCache: o.noCache,
		Jobs: o.jobs, Dereference: o.dereference, Verify: o.verify,
		Builders: o.builders, BuildersSSHKey: o.buildersKey, Rebuild: o.rebuild,
		Provenance: o.json || o.provenance, WriteProvenance: o.provenance, Sandbox: o.sandbox,
		Nix: nix.BuildFlags{Cores: o.cores, Verbose: o.verbose, KeepFailed: o.keepFailed, Extra: nixArgs},
	}
	if o.maxJobsSet {
		req.Nix.MaxJobs = &o.maxJobs
	}
	systems, err := parseSystems(o.systems)
	if err != nil {
		return req, build.FlakeSource{}, err
	}
	// Docker hosts run Linux: reject other OSes before touching Docker.
	for _, s := range systems {
		if err := system.CheckHost(s, "linux"); err != nil {
			return req, build.FlakeSource{}, err
		}
	}
	req.Systems = systems
	if o.sandbox {
		if arg := settingArg(nixArgs, sandboxSetting); arg != "" {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("%s after -- cannot be combined with --sandbox", arg), sandboxSetsItself)
		}
	}
	if arg := settingArg(nixArgs, buildUsersSetting); arg != "" {
		return req, build.FlakeSource{}, status.Usage(fmt.Errorf("%s after -- cannot be changed", arg), buildUsersSetItself)
	}
	if arg := settingArg(nixArgs, nix.SecretSetting); arg != "" {
		return req, build.FlakeSource{}, status.Usage(fmt.Errorf("%s after -- would put a secret on Nix's command line, which builders can read", arg), "give it with --option NAME VALUE or in NIX_CONFIG: nixcross hands those to Nix in a file only root may read")
	}
	for _, kv := range o.options {
		name, value, ok := splitOption(kv)
		if !ok {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--option needs a name and a value, got %q", kv), "write --option NAME VALUE")
		}
		if o.sandbox && sandboxSetting(name) {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--option %s cannot be combined with --sandbox", name), sandboxSetsItself)
		}
		if buildUsersSetting(name) {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--option %s cannot be changed", name), buildUsersSetItself)
		}
		if nix.SecretSetting(name) {
			req.Secrets = append(req.Secrets, nix.Option{Name: name, Value: value})
			continue
		}
		req.Nix.Options = append(req.Nix.Options, nix.Option{Name: name, Value: value})
	}
	if o.builders != "" {
		req.Nix.Options = append(req.Nix.Options, nix.Option{Name: "builders", Value: o.builders})
	}
	overSSH := o.builders != "" || pushesOverSSH(o.push)
	if o.knownHosts != "" {
		if !overSSH {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--builders-known-hosts needs --builders or an ssh:// or ssh-ng:// --push"), "")
		}
		if st, err := os.Stat(o.knownHosts); err != nil || !st.Mode().IsRegular() {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--builders-known-hosts %s is not a readable file", o.knownHosts), "")
		}
		req.BuildersKnownHosts = o.knownHosts
	} else if overSSH {
		req.BuildersKnownHosts = userKnownHosts(o.getenv)
	}
	if o.buildersKey != "" {
		if !overSSH {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--builders-ssh-key needs --builders or an ssh:// or ssh-ng:// --push"), "")
		}
		if st, err := os.Stat(o.buildersKey); err != nil || !st.Mode().IsRegular() {
			return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--builders-ssh-key %s is not a readable file", o.buildersKey), "")
		}
	}
	switch {
	case o.cores < 0, o.maxJobs < 0:
		return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--cores and --max-jobs cannot be negative"), "")
	case o.jobs < 1:
		return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--jobs must be at least 1, got %d", o.jobs), "")
	case o.outLink == "":
		return req, build.FlakeSource{}, status.Usage(fmt.Errorf("--out-link cannot be empty"), "")
	}
	if req.Memory, err = parseMemory(o.memory); err != nil {
		return req, build.FlakeSource{}, err
	}
	if err := o.export.apply(&req); err != nil {
		return req, build.FlakeSource{}, err
	}
	if req.Source, err = build.ParseSourceMode(o.source); err != nil {
		return req, build.FlakeSource{}, err
	}
	if err := checkOutLinks(build.OutLinks(o.outLink, systems), o.dereference); err != nil {
		return req, build.FlakeSource{}, err
	}
	if err := parseCaches(o, &req); err != nil {
		return req, build.FlakeSource{}, err
	}
	src, err := build.ResolveFlake(flakeRef)
	if err != nil {
		return req, src, err
	}
	if o.writeLock && !src.Local {
		return req, src, status.Usage(fmt.Errorf("--write-lock-file needs a flake on this machine, not %s", flakeRef), "")
	}
	req.WriteLockFile = o.writeLock
	overrides, err := parseOverrides(o.overrides)
	if err != nil {
		return req, src, err
	}
	for _, ov := range overrides {
		req.Nix.Overrides = append(req.Nix.Overrides, nix.InputOverride{Name: ov.Name, Ref: ov.Ref})
	}
	req.Inputs, err = build.ResolveInputs(src, overrides)
	return req, src, err
}

// sandboxSetsItself is the advice under a sandbox setting next to --sandbox.
const sandboxSetsItself = "--sandbox sets sandbox = true and sandbox-fallback = false itself; drop --sandbox to choose them"

// sandboxSetting reports whether the Nix setting name decides whether or
// how builds are sandboxed, which --sandbox alone decides: anything but
// the paths a sandbox shows and where it builds.
func sandboxSetting(name string) bool {
	name = strings.TrimPrefix(name, "extra-")
	if name == "build-use-sandbox" { // the old name of sandbox
		return true
	}
	return strings.HasPrefix(name, "sandbox") && name != "sandbox-paths" && name != "sandbox-build-dir"
}

// buildUsersSetItself is the advice under a build-users-group setting.
const buildUsersSetItself = "nixcross runs every builder as one of Nix's build users, never as root, so that a derivation cannot read the credentials forwarded for fetching"

// buildUsersSetting reports whether the Nix setting name decides which
// user builders run as: nixcross's, never the user's (see
// build.addBuildUsers), since an empty one runs them as root.
func buildUsersSetting(name string) bool {
	return strings.TrimPrefix(name, "extra-") == "build-users-group"
}

// settingArg returns the first of nix build's own arguments (after --)
// that sets a setting is matches: --option NAME, or a setting's flag such
// as --no-sandbox; "" when there is none.
func settingArg(args []string, is func(name string) bool) string {
	for i, a := range args {
		if a == "--option" && i+1 < len(args) && is(args[i+1]) {
			return "--option " + args[i+1]
		}
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "=")
		if is(strings.TrimPrefix(name, "no-")) {
			return a
		}
	}
	return ""
}

// parseOverrides reads the --override-input NAME=FLAKEREF pairs, resolving
// local paths against this process's directory and home.
func parseOverrides(pairs []string) ([]flake.Override, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, status.Environment(fmt.Errorf("working directory: %w", err), "")
	}
	home, _ := os.UserHomeDir()
	var out []flake.Override
	for _, kv := range pairs {
		name, ref, ok := splitOption(kv)
		if !ok {
			return nil, status.Usage(fmt.Errorf("--override-input needs a name and a flake reference, got %q", kv), "write --override-input NAME FLAKEREF")
		}
		ov, err := flake.ParseOverride(name, ref, cwd, home)
		if err != nil {
			return nil, err
		}
		out = append(out, ov)
	}
	return out, nil
}

// pushesOverSSH says whether a --push store is reached over ssh, with
// --builders-ssh-key.
func pushesOverSSH(push []string) bool {
	for _, u := range push {
		if strings.HasPrefix(u, "ssh://") || strings.HasPrefix(u, "ssh-ng://") {
			return true
		}
	}
	return false
}

// minMemory is the least memory the Docker daemon lets a container have.
const minMemory = 6 << 20

// parseMemory reads --memory as docker run -m does (4g, 512m, 1073741824);
// 0 when it is not given.
func parseMemory(size string) (int64, error) {
	if size == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(size)
	if err != nil || n < minMemory {
		return 0, status.Usage(fmt.Errorf("--memory %q is not a size of at least 6m", size), "write it as docker run -m takes it, e.g. --memory 4g or --memory 512m")
	}
	return n, nil
}
