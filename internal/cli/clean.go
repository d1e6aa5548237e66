package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

type cleanOptions struct {
	all    bool
	asJSON bool
	removal
}

// cleanDocument is `clean --json`: what was removed, or with --dry-run
// what would be.
type cleanDocument struct {
	DryRun       bool     `json:"dryRun"`
	Containers   []string `json:"containers"`
	Volumes      []string `json:"volumes"`
	Images       []string `json:"images"`
	Unregistered []string `json:"unregistered"`
}

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
		Example: "  nixcross clean\n  nixcross clean --all --dry-run\n  nixcross clean --all --force",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClean(cmd.Context(), a, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "also remove cache volumes, builder images and installed emulation (asks first on a terminal)")
	o.removal.flags(cmd.Flags())
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print what was removed (or would be, with --dry-run) as JSON")
	return cmd
}

func runClean(ctx context.Context, a *app, o cleanOptions) (err error) {
	rep := a.reporter()
	doc := cleanDocument{DryRun: o.dryRun, Containers: []string{}, Volumes: []string{}, Images: []string{}, Unregistered: []string{}}
	if o.asJSON {
		defer func() {
			if jerr := writeJSON(a.streams.Out, doc); err == nil {
				err = jerr
			}
		}()
	}
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		return err
	}
	defer eng.Close()
	if o.all && !o.confirm(a, "nixcross clean --all removes every container, cache volume (the Nix stores: later builds start over), builder image and installed emulation nixcross made on "+eng.Endpoint.Host) {
		return nil
	}
	// what is how a removal is reported: done, or only listed.
	what := "removed"
	if o.dryRun {
		what = "would remove"
	}
	if o.all && !o.dryRun {
		// Unregister installed emulation properly (hosts with a persistent
		// binfmt_misc mount keep entries after the container goes).
		ref := engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)
		if eng.HasImage(ctx, ref) {
			if regs, err := binfmt.Uninstall(ctx, eng, ref, system.LinuxSystems()); err != nil {
				rep.Warnf("uninstall emulation: %v", err)
			} else {
				for _, r := range regs {
					if r.Action == binfmt.Unregistered {
						rep.Printf("unregistered %s", r.Handler)
						doc.Unregistered = append(doc.Unregistered, r.Handler)
					}
				}
			}
		}
	}
	containers, err := eng.Containers(ctx, "")
	if err != nil {
		return err
	}
	removed := 0
	for _, c := range containers {
		if c.Installed && !o.all {
			continue
		}
		if c.Run == engine.RunLive {
			rep.Printf("skipping %s: its build is still running", c.Name)
			continue
		}
		if !o.dryRun {
			if err := eng.RemoveContainer(ctx, c.ID); err != nil {
				return err
			}
		}
		rep.Printf("%s container %s (%s)", what, c.Name, c.Role)
		doc.Containers = append(doc.Containers, c.Name)
		removed++
	}
	if o.all {
		vols, err := eng.Volumes(ctx, "")
		if err != nil {
			return err
		}
		for _, v := range vols {
			if o.dryRun {
				rep.Printf("would remove volume %s", v.Name)
				doc.Volumes = append(doc.Volumes, v.Name)
				removed++
				continue
			}
			if err := eng.RemoveVolume(ctx, v.Name, true); err != nil {
				// A running build's (skipped above) keeps its store.
				if engine.InUse(err) {
					rep.Warnf("volume %s is in use by a running build; left alone", v.Name)
					continue
				}
				return err
			}
			rep.Printf("removed volume %s", v.Name)
			doc.Volumes = append(doc.Volumes, v.Name)
			removed++
		}
		imgs, err := eng.Images(ctx)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			if o.dryRun {
				rep.Printf("would remove image %s", strings.Join(img.Tags, ","))
				doc.Images = append(doc.Images, strings.Join(img.Tags, ","))
				removed++
				continue
			}
			if err := eng.RemoveImage(ctx, img); err != nil {
				if engine.InUse(err) {
					rep.Warnf("image %s is in use by a running build; left alone", strings.Join(img.Tags, ","))
					continue
				}
				return err
			}
			rep.Printf("removed image %s", strings.Join(img.Tags, ","))
			doc.Images = append(doc.Images, strings.Join(img.Tags, ","))
			removed++
		}
	}
	if removed == 0 {
		rep.Printf("nothing to clean")
	}
	return nil
}
