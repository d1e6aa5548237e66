package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

type buildOptions struct {
	systems     []string
	options     []string
	outLink     string
	json        bool
	image       string
	cores       int
	maxJobs     int
	maxJobsSet  bool // --max-jobs 0 (build only on --builders) differs from none
	verbose     bool
	keepFailed  bool
	noCache     bool
	jobs        int
	dereference bool
	verify      bool
	source      string
	builders    string
	buildersKey string
	// binary caches (see store.go in internal/build)
	push         []string
	pushWhat     string
	signKey      string
	toCache      string
	substituters []string
	trustedKeys  []string
	overrides    []string
	writeLock    bool
	noForward    bool
	rebuild      bool
	provenance   bool
	knownHosts   string
	sandbox      bool
	qemuCPU      []string
	// getenv finds ~/.ssh/known_hosts (nil: no HOME).
	getenv func(string) string
}

const buildExamples = `  # Build the flake in the current directory for ARM64 (aarch64) on an x86_64 machine
  nixcross build --system aarch64-linux

  # Build for x86_64 on an ARM64 machine
  nixcross build --system x86_64-linux

  # CI matrix: one system per job, or several in one call (result-<system> links)
  nixcross build --system x86_64-linux,aarch64-linux

  # Pre-build for an ARM server and deploy it (no Nix needed there)
  nixcross build --system aarch64-linux --dereference
  rsync -av result-deref/ user@arm-server:/path/to/shelffiles/

  # Push the result, signed, to your binary cache; substitute from it elsewhere
  nixcross key generate cache.example.org-1
  nixcross build --system aarch64-linux --push file://$PWD/cache --sign-key cache.example.org-1.sec
  nixcross build --system aarch64-linux --substituter file://$PWD/cache --trusted-key "$(cat cache.example.org-1.pub)"

  # Limit cores, keep the build directory on failure
  nixcross build --system aarch64-linux --cores 2 --keep-failed

  # Check what was built, without 'file'
  nixcross build --system aarch64-linux --verify --json

  # Build against a local checkout of an input (mounted or copied in like the flake)
  nixcross build --system aarch64-linux --override-input nixpkgs ~/src/nixpkgs

  # Pass anything else to 'nix build' after --
  nixcross build .#hello --system riscv64-linux -- --show-trace`

func newBuildCommand(a *app) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [flags] [FLAKE[#ATTR]] [-- NIX-BUILD-ARGS...]",
		Short: "Build a flake for one or more systems and copy the result to the host",
		Long: `Build FLAKE (default ".") for each --system inside a Docker container and copy
the result's closure next to the out-link, verified against Nix's hashes.
FLAKE#ATTR selects packages.<system>.ATTR (default: default).

A single system links ./result; several link ./result-<system>. The link is
relative (result -> nix/store/<hash>-<name>), so it resolves on hosts without
/nix and survives moving the directory.`,
		Example: buildExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var nixArgs []string
			if at := cmd.ArgsLenAtDash(); at >= 0 {
				nixArgs = args[at:]
				args = args[:at]
			}
			if len(args) > 1 {
				return status.Usage(fmt.Errorf("build takes one FLAKE argument, got %d: %s", len(args), strings.Join(args, " ")),
					"put arguments for nix build after --")
			}
			ref := "."
			if len(args) == 1 {
				ref = args[0]
			}
			o.maxJobsSet = cmd.Flags().Changed("max-jobs")
			return runBuild(cmd.Context(), a, o, ref, nixArgs)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.systems, "system", "s", nil, "target system (repeatable or comma-separated); default: the Docker host's own")
	f.StringArrayVar(&o.options, "option", nil, "`NAME VALUE`: set a Nix option (repeatable), e.g. --option substituters ''")
	f.StringVarP(&o.outLink, "out-link", "o", "result", "path of the result link; the closure is copied to nix/store beside it")
	f.BoolVar(&o.json, "json", false, "print the results as JSON on stdout")
	f.StringVar(&o.image, "image", "", "use this Nix image instead of building the built-in one")
	f.IntVar(&o.cores, "cores", 0, "CPU cores each build job may use (Nix --cores)")
	f.IntVar(&o.maxJobs, "max-jobs", 0, "derivations Nix builds in parallel here (Nix --max-jobs; 0 builds only on --builders)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "more output from nixcross and more from Nix (-v) and step timings; build logs always stream live")
	f.BoolVar(&o.keepFailed, "keep-failed", false, "keep the failed build directory and its container for inspection")
	f.BoolVar(&o.noCache, "no-cache", false, "build with a throwaway Nix store instead of the persistent cache volume")
	f.IntVarP(&o.jobs, "jobs", "j", 1, "systems to build at the same time")
	f.BoolVar(&o.dereference, "dereference", false, "also write <out-link>-deref: a self-contained copy for machines without Nix")
	f.BoolVar(&o.verify, "verify", false, "fail when the result's ELF binaries are not for the requested system")
	f.StringVar(&o.source, "source", "auto", "how the flake reaches the container: auto, mount or copy")
	f.StringVar(&o.builders, "builders", "", "Nix remote builders (Nix's machine spec, e.g. 'ssh://me@arm-box aarch64-linux')")
	f.StringVar(&o.buildersKey, "builders-ssh-key", "", "private key `FILE` for reaching --builders and ssh:// or ssh-ng:// --push stores (copied into the build container for the run only)")
	f.StringArrayVar(&o.push, "push", nil, "after a good build, copy the result to this Nix store `URL` (repeatable): file:///dir, ssh-ng://user@host, s3://bucket, https://…")
	f.StringVar(&o.pushWhat, "push-what", string(build.PushClosure), "what --push copies: closure or outputs")
	f.StringVar(&o.signKey, "sign-key", "", "Nix secret key `FILE` that signs what is pushed (nixcross key generate; copied into the build container for the run only)")
	f.StringVar(&o.toCache, "to-cache", "", "also write the closure as a binary cache in `DIR` (file://), for nix copy --from or a substituter")
	f.StringArrayVar(&o.substituters, "substituter", nil, "also substitute from this Nix store `URL` (repeatable; adds to the defaults); file:///dir is mounted read-only (copied in for a remote daemon)")
	f.StringArrayVar(&o.trustedKeys, "trusted-key", nil, "also trust signatures by this public `KEY` (NAME:BASE64, repeatable; adds to the defaults)")
	f.StringArrayVar(&o.overrides, "override-input", nil, "`NAME FLAKEREF`: use FLAKEREF for input NAME (repeatable); local paths are resolved here and made visible")
	f.BoolVar(&o.writeLock, "write-lock-file", false, "write flake.lock back when Nix had to change it (by default a change is only reported)")
	f.BoolVar(&o.noForward, "no-forward-credentials", false, "do not hand the ssh agent, known_hosts, access-tokens, netrc-file or AWS credential variables to Nix in the container")
	f.BoolVar(&o.sandbox, "sandbox", false, "run Nix's build sandbox in the container (no network, only declared inputs); fails rather than building unsandboxed")
	f.BoolVar(&o.rebuild, "rebuild", false, "build the result a second time and fail (exit 1) unless both builds are bit-identical, naming the files that differ")
	f.StringVar(&o.knownHosts, "builders-known-hosts", "", "known_hosts `FILE` the host keys of --builders and ssh --push stores must be in (default ~/.ssh/known_hosts); unknown hosts are refused")
	addQEMUCPUFlag(f, &o.qemuCPU)
	f.BoolVar(&o.provenance, "provenance", false, "write <out-link>.provenance.json: the locked flake and inputs, derivations, image, Nix and QEMU versions (--json includes it too)")
	return cmd
}

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
	systems, err := system.ParseList(o.systems)
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
	if req.QEMUCPU, err = parseQEMUCPU(o.qemuCPU); err != nil {
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

// parseCaches reads the binary cache flags: the stores to push to (--push
// then --to-cache), the signing key, the extra substituters and keys. A
// file:// directory to push to is created (as the user) when missing; one
// to substitute from must exist.
func parseCaches(o buildOptions, req *build.Request) error {
	var err error
	if req.PushWhat, err = build.ParsePushWhat(o.pushWhat); err != nil {
		return err
	}
	for _, u := range o.push {
		s, err := build.ParseStore("--push", u)
		if err != nil {
			return err
		}
		req.Push = append(req.Push, s)
	}
	if o.toCache != "" {
		s, err := build.FileCache(o.toCache)
		if err != nil {
			return err
		}
		req.Push = append(req.Push, s)
	}
	for _, s := range req.Push {
		if s.HostDir != "" {
			if err := os.MkdirAll(s.HostDir, 0o755); err != nil {
				return status.Usage(fmt.Errorf("binary cache directory: %w", err), "")
			}
		}
	}
	if o.signKey != "" {
		if len(req.Push) == 0 {
			return status.Usage(errors.New("--sign-key signs what --push or --to-cache writes; there is neither"), "")
		}
		data, err := os.ReadFile(o.signKey)
		if err != nil {
			return status.Usage(fmt.Errorf("read --sign-key: %w", err), "")
		}
		if _, err := nix.ParseSecretKey(string(data)); err != nil {
			return status.Usage(fmt.Errorf("--sign-key %s: %w", o.signKey, err), "make a key pair with `nixcross key generate NAME`; sign with NAME.sec")
		}
		req.SignKey = o.signKey
	}
	for _, u := range o.substituters {
		s, err := build.ParseStore("--substituter", u)
		if err != nil {
			return err
		}
		if s.HostDir != "" {
			if _, err := os.Stat(filepath.Join(s.HostDir, "nix-cache-info")); err != nil {
				return status.Usage(fmt.Errorf("--substituter %s is not a binary cache (no nix-cache-info)", u), "make one with --push file://DIR or --to-cache DIR")
			}
		}
		req.Substituters = append(req.Substituters, s)
	}
	for i, k := range o.trustedKeys {
		if _, err := nix.ParsePublicKey(k); err != nil {
			// Never echo the value: it may be a secret key pasted by mistake.
			return status.Usage(fmt.Errorf("--trusted-key number %d: %w", i+1, err), "pass the content of NAME.pub, not the file name or the secret key")
		}
		req.TrustedKeys = append(req.TrustedKeys, strings.TrimSpace(k))
	}
	return nil
}

func runBuild(ctx context.Context, a *app, o buildOptions, ref string, nixArgs []string) error {
	results, err := buildResults(ctx, a, o, ref, nixArgs)
	if o.json {
		if jerr := writeBuildJSON(a.streams.Out, results, err); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// buildResults runs the builds and prints their summaries; results is nil
// when the run failed before any build (bad flags, no daemon, no image).
func buildResults(ctx context.Context, a *app, o buildOptions, ref string, nixArgs []string) ([]*build.Result, error) {
	o.getenv = a.streams.getenv
	req, src, err := parseBuildRequest(o, ref, nixArgs)
	if err != nil {
		return nil, err
	}
	if !o.noForward {
		req.Forward = forwardedCredentials(a.streams.getenv)
	}
	rep := a.reporter()
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	r := &build.Runner{
		Engine:     eng,
		UI:         rep,
		Dockerfile: nixcross.Dockerfile,
		Emulation:  build.Binfmt{},
		Verbose:    o.verbose,
		Owner:      hoststore.SudoOwner(os.Geteuid(), a.streams.getenv),
		CacheOwner: hostUser(os.Geteuid(), os.Getegid(), a.streams.getenv),
		Version:    Version,
	}
	results, err := r.Run(ctx, req, src)
	for _, res := range results {
		printSummary(rep, res)
	}
	return results, err
}

func (a *app) selection() engine.Selection {
	return engine.Selection{Host: a.global.host, Context: a.global.context, Getenv: a.streams.getenv}
}

// hostUser is who gets what the build container writes into file://
// push directories (as root there): the user sudo names, or the process's
// own user; nil when that is root itself or unknown (Windows).
func hostUser(euid, egid int, getenv func(string) string) *hoststore.Owner {
	if o := hoststore.SudoOwner(euid, getenv); o != nil {
		return o
	}
	if euid <= 0 || egid < 0 {
		return nil
	}
	return &hoststore.Owner{UID: euid, GID: egid}
}
