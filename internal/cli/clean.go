package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

type cleanOptions struct{ all bool }

func newCleanCommand(a *app) *cobra.Command {
	var o cleanOptions
	cmd := &cobra.Command{
		Use:   "clean [--all]",
		Short: "Remove containers nixcross left behind (and with --all its volumes and images)",
		Long: `Remove every container labelled nixcross.managed=true: build containers of
killed runs, containers kept with --keep-failed, probes and helpers. Containers of
builds still running on this machine are left alone. The emulation installed with
'nixcross binfmt install' stays unless --all is given.

With --all, also remove nixcross's cache volumes and builder images.`,
		Example: "  nixcross clean\n  nixcross clean --all",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClean(cmd.Context(), a, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "also remove cache volumes, builder images and installed emulation")
	return cmd
}

func runClean(ctx context.Context, a *app, o cleanOptions) error {
	rep := a.reporter()
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		return err
	}
	defer eng.Close()
	if o.all {
		// Unregister installed emulation properly (hosts with a persistent
		// binfmt_misc mount keep entries after the container goes).
		ref := engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)
		if _, err := eng.API.ImageInspect(ctx, ref); err == nil {
			if regs, err := binfmt.Uninstall(ctx, eng, ref, system.LinuxSystems()); err != nil {
				rep.Warnf("uninstall emulation: %v", err)
			} else {
				for _, r := range regs {
					if r.Action == binfmt.Unregistered {
						rep.Printf("unregistered %s", r.Handler)
					}
				}
			}
		}
	}
	list, err := eng.API.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: engine.ManagedFilter("")})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	removed := 0
	for _, c := range list.Items {
		name := strings.TrimPrefix(strings.Join(c.Names, ","), "/")
		if c.Labels["nixcross.binfmt"] == "install" && !o.all {
			continue
		}
		if c.Labels[engine.LabelRun] != engine.RunID() && engine.RunAlive(c.Labels[engine.LabelRun]) {
			rep.Printf("skipping %s: its build is still running", name)
			continue
		}
		if err := eng.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
		rep.Printf("removed container %s (%s)", name, c.Labels[engine.LabelRole])
		removed++
	}
	if o.all {
		vols, err := eng.API.VolumeList(ctx, client.VolumeListOptions{Filters: engine.ManagedFilter("")})
		if err != nil {
			return fmt.Errorf("list volumes: %w", err)
		}
		for _, v := range vols.Items {
			if _, err := eng.API.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil {
				return fmt.Errorf("remove volume %s: %w", v.Name, err)
			}
			rep.Printf("removed volume %s", v.Name)
			removed++
		}
		imgs, err := eng.API.ImageList(ctx, client.ImageListOptions{Filters: engine.ManagedFilter(engine.RoleImage)})
		if err != nil {
			return fmt.Errorf("list images: %w", err)
		}
		for _, img := range imgs.Items {
			if _, err := eng.API.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				return fmt.Errorf("remove image %s: %w", strings.Join(img.RepoTags, ","), err)
			}
			rep.Printf("removed image %s", strings.Join(img.RepoTags, ","))
			removed++
		}
	}
	if removed == 0 {
		rep.Printf("nothing to clean")
	}
	return nil
}
