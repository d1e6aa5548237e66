package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross"
	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

func newDoctorCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that builds can run here, and say what to fix",
		Long: `Report the Docker endpoint and how it was found, the daemon's version, OS
and architecture, rootless or not, the builder image, which systems run natively,
through the host's emulation or not at all, the cache volumes and free disk.
Every problem comes with the command that fixes it. Exits 0 only when a build
can run.`,
		Example: "  nixcross doctor\n  DOCKER_CONTEXT=arm-server nixcross doctor",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), a)
		},
	}
}

func runDoctor(ctx context.Context, a *app) error {
	out := a.streams.Out
	var problems []string
	ep, err := engine.Resolve(a.selection())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "docker endpoint   %s (from %s)\n", ep.Host, ep.Source)
	eng, err := engine.Connect(ctx, a.selection())
	if err != nil {
		fmt.Fprintf(out, "daemon            unreachable\n")
		return err
	}
	defer eng.Close()
	mode := "rootful"
	if eng.Rootless {
		mode = "rootless"
	}
	fmt.Fprintf(out, "daemon            Docker %s (API %s), %s, %s, %s\n", eng.Version, eng.APIVersion, eng.OperatingOS, eng.System, mode)
	if eng.OSType != "linux" {
		problems = append(problems, "the daemon runs "+eng.OSType+" containers; switch Docker to Linux containers")
	}
	if eng.Endpoint.Local() {
		fmt.Fprintf(out, "source transfer   mount (local daemon)\n")
	} else {
		fmt.Fprintf(out, "source transfer   copy (remote daemon)\n")
	}
	ref := engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)
	image := ""
	if eng.HasImage(ctx, ref) {
		fmt.Fprintf(out, "builder image     %s present\n", ref)
		image = ref
	} else {
		fmt.Fprintf(out, "builder image     %s not built yet (the first build builds it)\n", ref)
		if !eng.HasImage(ctx, build.DefaultBase) {
			problems = append(problems, "the base image "+build.DefaultBase+" is missing and may not be pullable: run scripts/provision.sh or `docker pull "+build.DefaultBase+"`")
		}
	}
	if image != "" {
		statuses, err := binfmtStatus(ctx, eng, image)
		if err != nil {
			fmt.Fprintf(out, "emulation         unknown: %v\n", err)
		} else {
			for _, s := range statuses {
				how := "no emulation registered now; builds register QEMU for themselves (`nixcross binfmt install` keeps it)"
				switch {
				case s.Runnable && (s.System == eng.System || s.Handler == binfmt.HandlerNative):
					how = "native"
				case s.Runnable:
					how = "emulated by " + s.Handler
				case s.Diagnosis.Kind != binfmt.NoHandler:
					how = s.Diagnosis.Explanation + "; fix: " + s.Diagnosis.Hint
				}
				fmt.Fprintf(out, "  %-18s %s\n", s.System, how)
			}
		}
	} else {
		fmt.Fprintf(out, "emulation         not checked (needs the builder image)\n")
	}
	if vols, err := cache.List(ctx, eng); err == nil {
		var total int64
		for _, v := range vols {
			if v.Size > 0 {
				total += v.Size
			}
		}
		fmt.Fprintf(out, "cache volumes     %d, %s\n", len(vols), ui.Bytes(total))
	}
	if wd, err := os.Getwd(); err == nil {
		if free, ok := freeDisk(wd); ok {
			fmt.Fprintf(out, "free disk here    %s (%s)\n", ui.Bytes(free), wd)
			if free < 1<<30 {
				problems = append(problems, "less than 1 GiB free where results are written; free some space or use -o elsewhere")
			}
		}
	}
	if len(problems) == 0 {
		fmt.Fprintln(out, "ok: builds can run")
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(out, "problem: %s\n", p)
	}
	return status.Environment(fmt.Errorf("%d problem(s) found", len(problems)), "")
}
