package cli

import (
	"context"
	"fmt"
	"io"
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
	var asJSON bool
	var fo fleetOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that builds can run here, and say what to fix",
		Long: `Report the Docker endpoint and how it was found, the daemon's version, OS
and architecture, rootless or not, the builder image, which systems run natively,
through the host's emulation or not at all, whether --sandbox can work, the
cache volumes and free disk; then the same for every host of the fleet
(` + "`nixcross fleet`" + `), with the systems routed to it.
Every problem comes with the command that fixes it. Exits 0 only when a build
can run.`,
		Example: "  nixcross doctor\n  DOCKER_CONTEXT=arm-server nixcross doctor\n  nixcross doctor --fleet ci/fleet",
		Args:    usageArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), a, asJSON, fo)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the facts and problems as one JSON document")
	addFleetFlags(cmd.Flags(), &fo)
	return cmd
}

func runDoctor(ctx context.Context, a *app, asJSON bool, fo fleetOptions) error {
	fl, err := readFleet(fo, a.streams.getenv)
	if err != nil {
		return err
	}
	text := a.streams.Out
	if asJSON {
		text = io.Discard
	}
	doc, err := checkHost(ctx, a.selection(), text, true)
	if err != nil && (doc.Endpoint == "" || len(fl.Routes) == 0) {
		// Nothing more to check: the endpoint could not be named, or
		// it was the only one.
		if asJSON && doc.Endpoint != "" {
			writeJSON(a.streams.Out, doc)
		}
		return err
	}
	problems := len(doc.Problems)
	doc.Fleet = checkFleet(ctx, text, fl, a.selection())
	for _, h := range doc.Fleet {
		problems += len(h.Problems)
	}
	doc.OK = problems == 0 && err == nil
	if asJSON {
		if jerr := writeJSON(a.streams.Out, doc); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return err
	}
	if problems == 0 {
		fmt.Fprintln(text, "ok: builds can run")
		return nil
	}
	return status.Environment(fmt.Errorf("%d problem(s) found", problems), "fix the problems listed above, then run `nixcross doctor` again")
}

// checkHost examines the daemon sel names, writing the text report to
// text, and returns it as a document. local: the free disk where results
// land is measured too (once, with the default daemon). The error is the
// endpoint's, when it cannot be named or reached.
func checkHost(ctx context.Context, sel engine.Selection, text io.Writer, local bool) (doctorDocument, error) {
	ep, err := engine.Resolve(sel)
	if err != nil {
		return doctorDocument{Volumes: []cache.Volume{}, Problems: []string{err.Error()}, Error: err.Error()}, err
	}
	fmt.Fprintf(text, "docker endpoint   %s (from %s)\n", ep.Host, ep.Source)
	eng, err := engine.Connect(ctx, sel)
	if err != nil {
		fmt.Fprintf(text, "daemon            unreachable\n")
		return doctorDocument{Endpoint: ep.Host, Source: ep.Source, Volumes: []cache.Volume{}, Problems: []string{err.Error()}, Error: err.Error()}, err
	}
	defer eng.Close()
	doc, _ := doctorDoc(examine(ctx, eng, local), text)
	return doc, nil
}

// doctorFacts is what doctor found out about a reachable daemon and this
// machine; writeDoctor judges it.
type doctorFacts struct {
	eng *engine.Engine
	// builder is the built-in image's tag; builderPresent whether it is
	// built, basePresent whether its base image is there to build it.
	builder        string
	builderPresent bool
	basePresent    bool
	// emulation per system, or why it could not be checked.
	emulation    []binfmt.Status
	emulationErr error
	// registerErr says why builds cannot register QEMU on this daemon
	// (rootless before Linux 6.7, userns-remap); nil when they can.
	registerErr error
	// sandbox: whether --sandbox can work here, why not, or why that
	// could not be checked.
	sandbox    bool
	sandboxWhy string
	sandboxErr error
	volumes    []cache.Volume
	volumesErr error
	// free bytes in wd, when known.
	wd        string
	free      int64
	freeKnown bool
	// daemonFree is the free space on the daemon's side (see daemonFree),
	// or why it could not be measured; not measured without the builder.
	daemonFree    int64
	daemonFreeErr error
}

func examine(ctx context.Context, eng *engine.Engine, local bool) doctorFacts {
	f := doctorFacts{eng: eng, builder: engine.BuilderTag(nixcross.Dockerfile, build.DefaultBase)}
	f.builderPresent = eng.HasImage(ctx, f.builder)
	f.basePresent = !f.builderPresent && eng.HasImage(ctx, build.DefaultBase)
	if f.builderPresent {
		f.emulation, f.emulationErr = binfmtStatus(ctx, eng, f.builder)
		f.registerErr = binfmt.CanRegister(ctx, eng)
		f.sandbox, f.sandboxWhy, f.sandboxErr = build.SandboxCheck(ctx, eng, f.builder)
		f.daemonFree, f.daemonFreeErr = daemonFree(ctx, eng, f.builder)
	}
	f.volumes, f.volumesErr = cache.List(ctx, eng)
	if wd, err := os.Getwd(); err == nil && local {
		f.wd = wd
		f.free, f.freeKnown = freeDisk(wd)
	}
	return f
}

// writeDoctor prints the report and returns how many problems it found:
// each is printed where it is found and again, with its fix, at the end.
func writeDoctor(out io.Writer, f doctorFacts) int {
	var problems []string
	eng := f.eng
	mode := "rootful"
	if eng.Rootless {
		mode = "rootless"
	}
	fmt.Fprintf(out, "daemon            %s %s (API %s), %s, %s, %s\n", eng.Product, eng.Version, eng.APIVersion, eng.OperatingOS, eng.System, mode)
	if eng.OSType != "linux" {
		problems = append(problems, "the daemon runs "+eng.OSType+" containers; switch Docker to Linux containers")
	}
	if eng.Endpoint.Local() {
		fmt.Fprintf(out, "source transfer   mount (local daemon)\n")
	} else {
		fmt.Fprintf(out, "source transfer   copy (remote daemon)\n")
	}
	switch {
	case f.builderPresent:
		fmt.Fprintf(out, "builder image     %s present\n", f.builder)
	case f.basePresent:
		fmt.Fprintf(out, "builder image     %s not built yet (the first build builds it)\n", f.builder)
	default:
		fmt.Fprintf(out, "builder image     %s not built yet, and its base %s is missing\n", f.builder, build.DefaultBase)
		problems = append(problems, "the base image "+build.DefaultBase+" is missing and may not be pullable: run scripts/provision.sh or `docker pull "+build.DefaultBase+"`")
	}
	switch {
	case !f.builderPresent:
		fmt.Fprintf(out, "emulation         not checked (needs the builder image)\n")
	case f.emulationErr != nil:
		fmt.Fprintf(out, "emulation         unknown: %v\n", f.emulationErr)
		problems = append(problems, "emulation could not be checked: "+f.emulationErr.Error())
	default:
		fmt.Fprintf(out, "emulation\n")
		for _, s := range f.emulation {
			how := "no emulation registered now; builds register QEMU for themselves (`nixcross binfmt install` keeps it)"
			switch {
			case s.Runnable && (s.System.CompatibleWith(eng.System) || s.Handler == binfmt.HandlerNative):
				how = "native"
			case s.Runnable && s.Handler == "":
				how = "emulated (by a handler this daemon cannot name)"
			case s.Runnable:
				how = "emulated by " + s.Handler
				if m := handlerModel(s.System, s.Handler); m != "" {
					how += " (" + m + ")"
				}
			case s.Diagnosis.Kind == binfmt.NoHandler && f.registerErr != nil:
				how = "cannot run: " + f.registerErr.Error()
				problems = append(problems, s.System.String()+" cannot run: "+f.registerErr.Error()+"; fix: "+status.HintOf(f.registerErr))
			case s.Diagnosis.Kind != binfmt.NoHandler:
				how = s.Diagnosis.Explanation
				problems = append(problems, s.System.String()+": "+s.Diagnosis.Explanation+"; fix: "+s.Diagnosis.Hint)
			}
			fmt.Fprintf(out, "  %-18s %s\n", s.System, how)
		}
	}
	// --sandbox is optional: without it builds run, so it is no problem.
	switch {
	case !f.builderPresent:
		fmt.Fprintf(out, "sandbox           not checked (needs the builder image)\n")
	case f.sandboxErr != nil:
		fmt.Fprintf(out, "sandbox           unknown: %v\n", f.sandboxErr)
	case f.sandbox:
		fmt.Fprintf(out, "sandbox           available (--sandbox)\n")
	default:
		fmt.Fprintf(out, "sandbox           unavailable: %s; --sandbox needs seccomp=unconfined, systempaths=unconfined and user namespaces (builds without it work)\n", f.sandboxWhy)
	}
	if f.volumesErr != nil {
		fmt.Fprintf(out, "cache volumes     unknown: %v\n", f.volumesErr)
		problems = append(problems, "the cache volumes could not be listed: "+f.volumesErr.Error())
	} else {
		var total int64
		for _, v := range f.volumes {
			if v.Size > 0 {
				total += v.Size
			}
		}
		fmt.Fprintf(out, "cache volumes     %d, %s\n", len(f.volumes), ui.Bytes(total))
	}
	if f.freeKnown {
		fmt.Fprintf(out, "free disk here    %s (%s)\n", ui.Bytes(f.free), f.wd)
		if f.free < 1<<30 {
			problems = append(problems, "less than 1 GiB free where results are written; free some space or use -o elsewhere")
		}
	}
	switch {
	case !f.builderPresent:
	case f.daemonFreeErr != nil:
		fmt.Fprintf(out, "daemon disk       unknown: %v\n", f.daemonFreeErr)
	default:
		fmt.Fprintf(out, "daemon disk       %s free (containers and cache volumes)\n", ui.Bytes(f.daemonFree))
		if f.daemonFree < daemonDiskMin {
			problems = append(problems, "less than "+ui.Bytes(daemonDiskMin)+" free on the daemon's disk, where builds store their closures; `nixcross cache gc` or `cache prune`, `docker system df` shows what else uses it (Docker Desktop: its disk size setting)")
		}
	}
	for _, p := range problems {
		fmt.Fprintf(out, "problem: %s\n", p)
	}
	return len(problems)
}
