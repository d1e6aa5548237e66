package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/status"
)

type buildOptions struct {
	systems   []string
	options   []string
	outLink   string
	json      bool
	platforms []string // --platform, Docker's names for systems
	// printOutPaths: --print-out-paths, here or after --.
	printOutPaths bool
	image         string
	cores         int
	maxJobs       int
	maxJobsSet    bool // --max-jobs 0 (build only on --builders) differs from none
	verbose       bool
	keepFailed    bool
	noCache       bool
	jobs          int
	jobsSet       bool // without -j a fleet builds one system per host at once
	dereference   bool
	verify        bool
	source        string
	builders      string
	buildersKey   string
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
	export       exportOptions
	memory       string
	img          imageOptions
	qemuCPU      []string
	hostFor      []string // --host-for SYSTEM=ENDPOINT, see hostfor.go
	fleet        fleetOptions
	// getenv finds ~/.ssh/known_hosts (nil: no HOME).
	getenv func(string) string
}

const buildExamples = `  # Build the flake in the current directory for ARM64 (aarch64) on an x86_64 machine
  nixcross build --system aarch64-linux

  # Build for x86_64 on an ARM64 machine
  nixcross build --system x86_64-linux

  # CI matrix: one system per job, or several in one call (result-<system> links)
  nixcross build --system x86_64-linux,aarch64-linux

  # Ship it as a multi-arch image (runs anywhere Docker does, no Nix needed)
  nixcross build --system x86_64-linux,aarch64-linux --tag registry.example.org/app:1 --push-image

  # A copy with links resolved, for machines without Nix (static programs and data only)
  nixcross build --system aarch64-linux --dereference

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
			o.jobsSet = cmd.Flags().Changed("jobs")
			return runBuild(cmd.Context(), a, o, ref, nixArgs)
		},
	}
	f := cmd.Flags()
	f.VarP(systemsFlag{&o.systems}, "system", "s", "target system (repeatable or comma-separated); default: the Docker host's own")
	f.Var(systemsFlag{&o.platforms}, "platform", "target as a Docker platform, e.g. linux/arm64,linux/amd64 (repeatable or comma-separated; adds to --system)")
	f.StringArrayVar(&o.options, "option", nil, "`NAME VALUE`: set a Nix option (repeatable), e.g. --option substituters ''")
	f.StringVarP(&o.outLink, "out-link", "o", "result", "path of the result link; the closure is copied to nix/store beside it")
	f.BoolVar(&o.json, "json", false, "print the results as JSON on stdout")
	f.StringVar(&o.image, "image", "", "use this Nix image instead of building the built-in one")
	f.IntVar(&o.cores, "cores", 0, "CPU cores each build job may use (Nix --cores)")
	f.IntVar(&o.maxJobs, "max-jobs", 0, "derivations Nix builds in parallel here (Nix --max-jobs; 0 builds only on --builders)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "more output from nixcross and more from Nix (-v) and step timings; build logs always stream live")
	f.BoolVar(&o.keepFailed, "keep-failed", false, "keep the failed build directory and its container for inspection")
	f.BoolVar(&o.noCache, "no-cache", false, "build with a throwaway Nix store instead of the persistent cache volume")
	f.IntVarP(&o.jobs, "jobs", "j", 1, "systems to build at the same time; with --host-for or a fleet and no -j, one per Docker host")
	f.BoolVar(&o.dereference, "dereference", false, "also write <out-link>-deref: a copy with the closure's links resolved; programs that need /nix/store are named in a warning")
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
	f.BoolVar(&o.printOutPaths, "print-out-paths", false, "print each output's path on this machine (beside the out-link) on stdout, as nix build --print-out-paths does")
	addExportFlags(f, &o.export)
	f.StringVar(&o.memory, "memory", "", "memory `SIZE` each build container may use, as docker run -m (e.g. 4g); emulated builds need more than native ones")
	addQEMUCPUFlag(f, &o.qemuCPU)
	addHostForFlag(f, &o.hostFor)
	addFleetFlags(f, &o.fleet)
	f.BoolVar(&o.provenance, "provenance", false, "write <out-link>.provenance.json: the locked flake and inputs, derivations, image, Nix and QEMU versions (--json includes it too)")
	addImageFlags(f, &o.img)
	return cmd
}

func runBuild(ctx context.Context, a *app, o buildOptions, ref string, nixArgs []string) error {
	nixArgs, print, err := ownNixArgs(nixArgs)
	if err != nil {
		return err
	}
	o.printOutPaths = o.printOutPaths || print
	results, shipped, err := buildResults(ctx, a, o, ref, nixArgs)
	if o.printOutPaths && !o.json {
		if perr := printOutPaths(a.streams.Out, results); perr != nil && err == nil {
			err = perr
		}
	}
	if o.json {
		if jerr := writeBuildJSON(a.streams.Out, results, shipped, err); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// buildResults runs the builds, ships their images (--tag) and prints
// their summaries; results is nil when the run failed before any build
// (bad flags, no daemon, no image).
func buildResults(ctx context.Context, a *app, o buildOptions, ref string, nixArgs []string) ([]*build.Result, *build.Shipped, error) {
	o.getenv = a.streams.getenv
	req, src, err := parseBuildRequest(o, ref, nixArgs)
	if err != nil {
		return nil, nil, err
	}
	routes, err := parseHostFor(o.hostFor, req)
	if err != nil {
		return nil, nil, err
	}
	fl, err := readFleet(o.fleet, a.streams.getenv)
	if err != nil {
		return nil, nil, err
	}
	routes = withFleet(routes, fl, req.Systems)
	if len(routes) > 0 && !o.jobsSet {
		req.Jobs = 0 // each host has its own CPUs: one build on each at once
	}
	if !o.noForward {
		req.Forward = forwardedCredentials(a.streams.getenv)
	}
	rep := a.reporter()
	warnUnignored(rep.Warnf, src, build.OutLinks(o.outLink, req.Systems))
	runner := func(eng *engine.Engine) *build.Runner {
		return &build.Runner{
			Engine:     eng,
			UI:         rep,
			Dockerfile: nixcross.Dockerfile,
			Emulation:  build.Binfmt{},
			Verbose:    o.verbose,
			Owner:      hoststore.SudoOwner(os.Geteuid(), a.streams.getenv),
			CacheOwner: hostUser(os.Geteuid(), os.Getegid(), a.streams.getenv),
			Version:    Version,
		}
	}
	var results []*build.Result
	shipper := &build.Runner{UI: rep}
	if len(routes) > 0 {
		results, err = buildFleet(ctx, routes, req, src, a.selection(), runner)
	} else {
		eng, cerr := engine.Connect(ctx, a.selection())
		if cerr != nil {
			return nil, nil, cerr
		}
		defer eng.Close()
		shipper = runner(eng)
		results, err = shipper.Run(ctx, req, src)
	}
	for _, res := range results {
		printSummary(rep, res)
		if len(routes) > 0 && res.Err() == nil {
			rep.Printf("  docker   %s", res.Docker)
		}
	}
	if err != nil {
		emulationTip(rep, results)
		return results, nil, err
	}
	if len(routes) > 0 && req.Ship.Load {
		// A fleet's images are made here, from the exports; --load puts
		// them where `docker run` on this machine looks: the default daemon.
		eng, cerr := engine.Connect(ctx, a.selection())
		if cerr != nil {
			return results, nil, fmt.Errorf("--load: %w", cerr)
		}
		defer eng.Close()
		shipper.Engine = eng
	}
	shipped, err := shipper.Ship(ctx, req, results)
	printShipped(rep, req.Ship, shipped)
	emulationTip(rep, results)
	return results, shipped, err
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
