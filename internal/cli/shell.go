package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

type shellOptions struct {
	system    string
	systemSet bool // --system '' is refused, not the default
	fleet     fleetOptions
	image     string
	noCache   bool
	options   []string // NAME=VALUE, joined by joinOptionPairs
}

func newShellCommand(a *app) *cobra.Command {
	var o shellOptions
	cmd := &cobra.Command{
		Use:   "shell [--system S] [FLAKE] [-- COMMAND...]",
		Short: "Open a shell in the builder container, with the flake, the cache and emulation ready",
		Long: `Start the same container a build uses (the flake and its local inputs
mounted read-only, the Nix store cache, QEMU emulation for --system) and open an interactive shell in it,
or run COMMAND when given after --. The exit status of the shell or command
becomes nixcross's. Without a terminal, COMMAND is required.`,
		Example: `  # Poke around an aarch64 build environment
  nixcross shell --system aarch64-linux

  # Nix inside is aarch64-linux's: this prints aarch64-linux, and nix build
  # .#default there builds the aarch64 package under emulation
  nixcross shell --system aarch64-linux -- nix eval --impure --raw --expr builtins.currentSystem`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if at := cmd.ArgsLenAtDash(); at >= 0 {
				command = args[at:]
				args = args[:at]
			}
			if len(args) > 1 {
				return status.Usage(errTooManyArgs(len(args)), "put the command after --")
			}
			ref := "."
			if len(args) == 1 {
				ref = args[0]
			}
			o.systemSet = cmd.Flags().Changed("system")
			return runShell(cmd.Context(), a, o, ref, command)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.system, "system", "s", "", "system to emulate (default: the Docker host's own)")
	f.StringVar(&o.image, "image", "", "use this Nix image instead of the built-in one")
	f.BoolVar(&o.noCache, "no-cache", false, "use a throwaway Nix store")
	f.StringArrayVar(&o.options, "option", nil, "`NAME VALUE`: set a Nix option for every Nix in the shell (repeatable)")
	addFleetFlags(f, &o.fleet)
	return cmd
}

func runShell(ctx context.Context, a *app, o shellOptions, ref string, command []string) error {
	req := build.ShellRequest{Image: o.image, NoCache: o.noCache, Cmd: command}
	for _, kv := range o.options {
		name, value, ok := splitOption(kv)
		if !ok {
			return status.Usage(fmt.Errorf("--option needs a name and a value, got %q", kv), "write --option NAME VALUE")
		}
		if nix.SecretSetting(name) {
			// The shell's settings are in its container's environment.
			return status.Usage(fmt.Errorf("--option %s would put a secret in the shell container's environment", name), "set it in NIX_CONFIG inside the shell")
		}
		req.Options = append(req.Options, nix.Option{Name: name, Value: value})
	}
	s, err := parseSystem(o.system, o.systemSet)
	if err != nil {
		return err
	}
	if !s.IsZero() {
		if err := system.CheckHost(s, "linux"); err != nil {
			return err
		}
		req.System = s
	}
	flake, _ := nix.SplitRef(ref)
	src, err := build.ResolveFlake(flake)
	if err != nil {
		return err
	}
	if req.Inputs, err = build.ResolveInputs(src, nil); err != nil {
		return err
	}
	fl, err := readFleet(o.fleet, a.streams.getenv)
	if err != nil {
		return err
	}
	// A system the fleet routes opens its shell on that host, as its
	// builds run there.
	sel := a.selection()
	if !s.IsZero() {
		sel = groupRoutes([]system.System{s}, withFleet(nil, fl, []system.System{s}), sel)[0].sel
	}
	eng, err := engine.Connect(ctx, sel)
	if err != nil {
		return err
	}
	defer eng.Close()
	r := &build.Runner{Engine: eng, UI: a.reporter(), Dockerfile: nixcross.Dockerfile, Emulation: build.Binfmt{}}
	t := build.Terminal{In: a.streams.In, Out: a.streams.Out, Err: a.streams.Err}
	if _, inTerm := term.GetFdInfo(a.streams.In); inTerm {
		if _, outTerm := term.GetFdInfo(a.streams.Out); outTerm {
			t.TTY = true
		}
	}
	if f, ok := a.streams.In.(*os.File); !ok || f == nil {
		t.TTY = false
	}
	return r.Shell(ctx, req, src, t)
}
