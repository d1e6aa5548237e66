package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

func newBinfmtCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "binfmt",
		Short: "Check, install and remove QEMU emulation on the Docker host",
		Long: `nixcross runs foreign binaries through QEMU registered in the Docker host
kernel's binfmt_misc. 'nixcross build' does this by itself for as long as a build
needs it; 'binfmt install' keeps emulation registered until 'binfmt uninstall'
(also across daemon restarts and reboots). Handlers nixcross did not create are
never changed, and a system the host already runs is used as it is.`,
	}
	cmd.AddCommand(newBinfmtStatusCommand(a), newBinfmtInstallCommand(a, true), newBinfmtInstallCommand(a, false))
	return asGroup(cmd)
}

func (a *app) connectWithBuilder(ctx context.Context) (*engine.Engine, engine.Image, error) {
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		return nil, engine.Image{}, err
	}
	img, err := eng.EnsureBuilderImage(ctx, nixcross.Dockerfile, build.DefaultBase, nil)
	if err != nil {
		eng.Close()
		return nil, engine.Image{}, err
	}
	return eng, img, nil
}

func newBinfmtStatusCommand(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Say, by running a probe, which systems the Docker host can run now",
		Example: "  nixcross binfmt status\n  nixcross binfmt status --json",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			eng, img, err := a.connectWithBuilder(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			statuses, err := binfmtStatus(ctx, eng, img.Ref)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(statuses)
			}
			tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SYSTEM\tRUNNABLE\tHANDLER\tDIAGNOSIS")
			var missing []string
			for _, s := range statuses {
				diag, handler := "-", s.Handler
				if !s.Runnable {
					diag = s.Diagnosis.Kind.String()
					if s.Diagnosis.Kind == binfmt.NoHandler {
						missing = append(missing, s.System.String())
					}
				}
				if handler == "" {
					handler = "-"
				}
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", s.System, s.Runnable, handler, diag)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, s := range statuses {
				if !s.Runnable && s.Diagnosis.Kind != binfmt.NoHandler {
					fmt.Fprintf(a.streams.Out, "%s: %s\n  fix: %s\n", s.System, s.Diagnosis.Explanation, s.Diagnosis.Hint)
				}
			}
			if len(missing) > 0 {
				fmt.Fprintf(a.streams.Out, "no-handler: the kernel cannot run these yet; builds register QEMU for themselves, or keep it registered with\n  nixcross binfmt install --system %s\n", strings.Join(missing, ","))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON list of {system, runnable, handler, diagnosis}")
	return cmd
}

func binfmtStatus(ctx context.Context, eng *engine.Engine, image string) ([]binfmt.Status, error) {
	statuses, err := binfmt.Detect(ctx, eng, image, system.LinuxSystems())
	if err != nil {
		return nil, err
	}
	if entries, err := binfmt.Entries(ctx, eng, image); err == nil {
		statuses = binfmt.Attribute(statuses, entries)
	}
	return statuses, nil
}

func newBinfmtInstallCommand(a *app, install bool) *cobra.Command {
	var systems []string
	use, short, example := "install", "Register QEMU for foreign systems until 'binfmt uninstall'", "  nixcross binfmt install\n  nixcross binfmt install --system aarch64-linux,riscv64-linux"
	if !install {
		use, short, example = "uninstall", "Remove the emulation nixcross installed (host handlers stay)", "  nixcross binfmt uninstall\n  nixcross binfmt uninstall --system riscv64-linux"
	}
	cmd := &cobra.Command{
		Use:     use + " [--system S,...]",
		Short:   short,
		Example: example,
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := parseSystems(systems)
			if err != nil {
				return err
			}
			for _, s := range list {
				if err := system.CheckHost(s, "linux"); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			eng, img, err := a.connectWithBuilder(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			if len(list) == 0 {
				for _, s := range system.LinuxSystems() {
					if s != eng.System {
						list = append(list, s)
					}
				}
			}
			var regs []binfmt.Registration
			if install {
				regs, err = binfmt.Install(ctx, eng, img.Ref, list)
			} else {
				regs, err = binfmt.Uninstall(ctx, eng, img.Ref, list)
			}
			rep := a.reporter()
			for _, r := range regs {
				line := fmt.Sprintf("%s: %s", r.System, r.Action)
				if r.Handler != "" {
					line += " (" + r.Handler + ")"
				}
				rep.Printf("%s", strings.TrimSpace(line))
			}
			return err
		},
	}
	cmd.Flags().VarP(systemsFlag{&systems}, "system", "s", "systems (repeatable or comma-separated); default: every supported foreign system")
	return cmd
}
