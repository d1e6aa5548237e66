package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/ui"
)

func newCacheCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect and trim the persistent Nix store volumes",
		Long: `nixcross keeps built store paths in a Docker volume per builder image
and flake (nixcross-store-<image id>-<flake key>), so rebuilds only build
what changed and one flake's build cannot rewrite another flake's store. A
new or different image gets new volumes; the old ones stay until pruned.`,
	}
	cmd.AddCommand(newCacheLsCommand(a), newCacheGCCommand(a), newCachePruneCommand(a))
	return asGroup(cmd)
}

func newCacheLsCommand(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List cache volumes with their flake, image, size and last use",
		Example: "  nixcross cache ls\n  nixcross cache ls --json",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := engine.Connect(cmd.Context(), a.selection())
			if err != nil {
				return err
			}
			defer eng.Close()
			vols, err := cache.List(cmd.Context(), eng)
			if err != nil {
				return err
			}
			for i := range vols {
				vols[i].LastUsed = cache.LastUsed(cmd.Context(), eng, vols[i])
			}
			if asJSON {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Volumes []cache.Volume `json:"volumes"`
				}{vols})
			}
			tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VOLUME\tFLAKE\tIMAGE\tIMAGE PRESENT\tSIZE\tLAST USED")
			for _, v := range vols {
				last := "never"
				if !v.LastUsed.IsZero() {
					last = v.LastUsed.Format(time.RFC3339)
				}
				size := "?"
				if v.Size >= 0 {
					size = ui.Bytes(v.Size)
				}
				flake := v.Flake
				if flake == "" {
					flake = "-"
				} else if v.FlakeGone {
					flake += " (gone)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", v.Name, flake, v.Image, v.ImagePresent, size, last)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newCacheGCCommand(a *app) *cobra.Command {
	var keep time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Garbage-collect the cache volumes, keeping what recent results need",
		Long: `Run Nix's garbage collector inside each cache volume whose image is present.
Results built within --keep (default 30 days) stay, with their whole closure;
older results and everything only they needed are deleted.`,
		Example: "  nixcross cache gc\n  nixcross cache gc --keep 168h",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := engine.Connect(cmd.Context(), a.selection())
			if err != nil {
				return err
			}
			defer eng.Close()
			return cache.GC(cmd.Context(), eng, keep, a.reporter())
		},
	}
	cmd.Flags().DurationVar(&keep, "keep", 30*24*time.Hour, "keep results built within this long")
	return cmd
}

func newCachePruneCommand(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "prune",
		Short:   "Remove cache volumes no build uses: image gone, flake directory gone from this machine, or shared by every flake (or all with --all)",
		Example: "  nixcross cache prune\n  nixcross cache prune --all",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCachePrune(cmd.Context(), a, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "remove every cache volume")
	return cmd
}

func runCachePrune(ctx context.Context, a *app, all bool) error {
	rep := a.reporter()
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		return err
	}
	defer eng.Close()
	removed, err := cache.Prune(ctx, eng, all, rep)
	for _, name := range removed {
		fmt.Fprintln(a.streams.Out, name)
	}
	if err != nil {
		return err
	}
	rep.Printf("removed %d cache volume(s)", len(removed))
	return nil
}
