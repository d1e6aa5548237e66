package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fleet"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// fleetOptions are --fleet and --no-fleet: which fleet file routes
// systems to Docker hosts (see internal/fleet), or none.
type fleetOptions struct {
	file string
	off  bool
}

func addFleetFlags(f *pflag.FlagSet, o *fleetOptions) {
	f.StringVar(&o.file, "fleet", "", "fleet `FILE` that routes systems to Docker hosts, a SYSTEM = ENDPOINT per line (default $"+fleet.Env+", else ~/.config/nixcross/fleet when it exists; see `nixcross fleet`)")
	f.BoolVar(&o.off, "no-fleet", false, "ignore the fleet file: every system builds on the default daemon unless --host-for routes it")
}

// readFleet reads the fleet the options name. A file the user named
// (--fleet, NIXCROSS_FLEET) must exist; the default one may not. A line
// that does not parse is the user's to fix: exit 2 naming it.
func readFleet(o fleetOptions, getenv func(string) string) (fleet.File, error) {
	if o.off {
		if o.file != "" {
			return fleet.File{}, status.Usage(fmt.Errorf("--fleet and --no-fleet contradict each other"), "give one of them")
		}
		return fleet.File{}, nil
	}
	path, named := fleet.Locate(o.file, getenv)
	f, err := fleet.Read(path, named)
	if err != nil {
		return f, status.Usage(fmt.Errorf("fleet: %w", err), "each line of a fleet file is SYSTEM = ENDPOINT (see `nixcross fleet --help`), or pass --no-fleet")
	}
	return f, nil
}

func newFleetCommand(a *app) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Name once which Docker host builds which system",
		Long: `A fleet routes systems to Docker hosts, so one build command builds each
system on its own host (natively where there is one) without --host-for:

  nixcross fleet set x86_64-linux ssh://me@build-server
  nixcross build -s x86_64-linux,aarch64-linux

The fleet is a file of SYSTEM = ENDPOINT lines (# comments), an ENDPOINT
as --host takes it (unix://, tcp://, ssh://) or a Docker context's name, so
TLS and ssh settings stay in Docker's contexts. It is --fleet FILE, else
$` + fleet.Env + `, else ~/.config/nixcross/fleet ($XDG_CONFIG_HOME is
honoured). Systems not in it build on the default daemon; --host-for
overrides a route for one run, --no-fleet ignores the file. ` + "`nixcross doctor`" + `
checks every host in it.`,
	}
	cmd.PersistentFlags().StringVar(&file, "fleet", "", "the fleet `FILE` to show or change (default $"+fleet.Env+", else ~/.config/nixcross/fleet)")
	path := func() (string, bool) { return fleet.Locate(file, a.streams.getenv) }
	cmd.AddCommand(newFleetLsCommand(a, path), newFleetSetCommand(a, path), newFleetRmCommand(a, path))
	return asGroup(cmd)
}

func newFleetLsCommand(a *app, path func() (string, bool)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the fleet's routes",
		Example: "  nixcross fleet ls\n  nixcross fleet ls --json",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, named := path()
			f, err := fleet.Read(p, named)
			if err != nil {
				return status.Usage(fmt.Errorf("fleet: %w", err), "each line of a fleet file is SYSTEM = ENDPOINT")
			}
			if asJSON {
				type route struct {
					System   string `json:"system"`
					Endpoint string `json:"endpoint"`
				}
				routes := []route{}
				for _, r := range f.Routes {
					routes = append(routes, route{r.System.String(), r.Endpoint})
				}
				return writeJSON(a.streams.Out, struct {
					File   string  `json:"file"`
					Found  bool    `json:"found"`
					Routes []route `json:"routes"`
				}{f.Path, f.Found, routes})
			}
			if !f.Found {
				fmt.Fprintf(a.streams.Err, "no fleet file at %s: every system builds on the default daemon (`nixcross fleet set SYSTEM ENDPOINT` starts one)\n", p)
				return nil
			}
			if !a.global.quiet {
				fmt.Fprintf(a.streams.Err, "fleet file %s\n", p) // on stderr: stdout is the table alone
			}
			tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SYSTEM\tENDPOINT")
			for _, r := range f.Routes {
				fmt.Fprintf(tw, "%s\t%s\n", r.System, r.Endpoint)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the file and its routes as one JSON document")
	return cmd
}

func newFleetSetCommand(a *app, path func() (string, bool)) *cobra.Command {
	return &cobra.Command{
		Use:   "set SYSTEM ENDPOINT",
		Short: "Route a system to a Docker host (an address or a context name)",
		Example: "  nixcross fleet set aarch64-linux desktop-linux          # a Docker context\n" +
			"  nixcross fleet set x86_64-linux ssh://me@build-server\n" +
			"  nixcross fleet set riscv64-linux=tcp://board:2376",
		Args: usageArgsBetween(1, 2),
		ValidArgsFunction: func(c *cobra.Command, args []string, typed string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return completeSystems(c, args, typed)
			}
			return completeContexts(a)(c, args, typed)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args, "=")
			r, err := fleet.ParseRoute(text)
			if err != nil {
				if _, format := err.(*fleet.FormatError); format {
					return status.Usage(err, "e.g. nixcross fleet set aarch64-linux ssh://me@arm-box")
				}
				return err
			}
			p, _ := path()
			if err := fleet.Set(p, r.System, r.Endpoint); err != nil {
				return status.Usage(fmt.Errorf("fleet: %w", err), "")
			}
			fmt.Fprintf(a.streams.Err, "%s builds on %s (%s)\n", r.System, r.Endpoint, p)
			if !strings.Contains(r.Endpoint, "://") && r.Endpoint != "default" && !slices.Contains(engine.ContextNames(a.selection()), r.Endpoint) {
				fmt.Fprintf(a.streams.Err, "warning: there is no Docker context %q yet (`docker context ls`); builds routed to it fail until `docker context create %s --docker host=…` makes it\n", r.Endpoint, r.Endpoint)
			}
			return nil
		},
	}
}

func newFleetRmCommand(a *app, path func() (string, bool)) *cobra.Command {
	return &cobra.Command{
		Use:               "rm SYSTEM",
		Short:             "Stop routing a system: it builds on the default daemon again",
		Example:           "  nixcross fleet rm aarch64-linux",
		Args:              usageArgs(1),
		ValidArgsFunction: completeSystems,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := system.Parse(args[0])
			if err != nil {
				return err
			}
			p, _ := path()
			removed, err := fleet.Remove(p, s)
			if err != nil {
				return status.Usage(fmt.Errorf("fleet: %w", err), "")
			}
			if !removed {
				return status.Usage(fmt.Errorf("the fleet (%s) does not route %s", p, s), "`nixcross fleet ls` lists its routes")
			}
			fmt.Fprintf(a.streams.Err, "%s builds on the default daemon again (%s)\n", s, p)
			return nil
		},
	}
}
