package build

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/system"
	"github.com/nixcross/nixcross/internal/ui"
)

// Runner runs builds against one daemon.
type Runner struct {
	Engine     *engine.Engine
	UI         *ui.Reporter
	Dockerfile []byte
	// Emulation makes foreign systems runnable; nil disables it.
	Emulation Emulation
	// Verbose shows nixcross's own detail lines.
	Verbose bool
	// Owner receives the exported files; nil leaves them to the process.
	Owner *hoststore.Owner
	// CacheOwner receives what the build container (root) writes into
	// file:// push directories on the host; nil leaves it root's.
	CacheOwner *hoststore.Owner
	// Version is nixcross's own, for provenance.
	Version string
}

// job is one system's build of a request.
type job struct {
	req    Request
	prep   Prepared
	system system.System
	link   string // the out-link
	prefix string // before every line, when several systems build
}

// Run builds every requested system and returns one Result each. The
// error is the first failure (results still list every build).
func (r *Runner) Run(ctx context.Context, req Request, src FlakeSource) ([]*Result, error) {
	systems := req.Systems
	if len(systems) == 0 {
		systems = []system.System{r.Engine.System}
	}
	share := runShare{sem: make(chan struct{}, max(req.Jobs, 1)), prefixed: len(systems) > 1}
	results, err := r.runSystems(ctx, req, src, systems, OutLinks(req.OutLink, systems), share)
	if err != nil {
		return nil, err
	}
	return results, failures(results)
}

// runShare is what the daemons of one run share (see RunFleet).
type runShare struct {
	sem      chan struct{} // a slot per build in flight: --jobs
	prefixed bool          // several systems: each line names its system
	// lockOnce, when set, settles a changed flake.lock once for the whole
	// run rather than once per daemon.
	lockOnce *sync.Once
}

// runSystems builds systems (a run's, or a fleet group's share of one)
// into their links, taking a slot of share.sem per build. The error is a
// failure before any build (a system the daemon cannot run, the image,
// the cache volume); build failures are in the results.
func (r *Runner) runSystems(ctx context.Context, req Request, src FlakeSource, systems []system.System, links []string, share runShare) ([]*Result, error) {
	for _, s := range systems {
		if err := system.CheckHost(s, r.Engine.System.OS); err != nil {
			return nil, err
		}
	}
	r.UI.Printf("docker %s (%s): %s %s on %s", r.Engine.Endpoint.Host, r.Engine.Endpoint.Source, r.Engine.Product, r.Engine.Version, r.Engine.System)
	t0 := time.Now()
	prep, err := r.prepare(ctx, req, src)
	defer prep.close()
	if err != nil {
		return nil, err
	}
	r.trace("image and cache volume", t0)
	if share.lockOnce != nil {
		prep.lockOnce = share.lockOnce
	}
	// Leftovers of runs that died (killed, or their daemon connection
	// lost) go while this one builds; see engine.Container.Stale. The run
	// waits for the sweep before it returns, so the next one never finds
	// them.
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		r.Engine.RemoveStale(context.WithoutCancel(ctx))
	}()
	defer func() { <-swept }()

	results := make([]*Result, len(systems))
	var wg sync.WaitGroup
	for i, s := range systems {
		j := job{req: req, prep: prep, system: s, link: links[i]}
		if share.prefixed {
			j.prefix = "[" + s.String() + "] "
		}
		wg.Add(1)
		share.sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-share.sem }()
			results[i] = r.buildSystem(ctx, j)
		}()
	}
	wg.Wait()
	return results, nil
}

// failures is the error of a run's results: nil, the one failure, or all
// of them in order.
func failures(results []*Result) error {
	var errs []error
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return &multiError{errs}
}

// multiError reports several failed systems; the first failure's kind
// decides the exit code (errors.As walks them in order).
type multiError struct{ errs []error }

func (m *multiError) Error() string {
	var b strings.Builder
	for i, e := range m.errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (m *multiError) Unwrap() []error { return m.errs }

// buildSystem builds one system into a Result, timed.
func (r *Runner) buildSystem(ctx context.Context, j job) *Result {
	start := time.Now()
	res := &Result{System: j.system.String(), Docker: r.Engine.Endpoint.Host, Flake: j.req.Flake, Attr: j.req.Attr, Native: j.system == r.Engine.System, Machines: []string{}, Outputs: []string{}}
	err := r.withSourceFallback(ctx, j.prep, j.prefix, func(mode SourceMode) error {
		return r.runStages(ctx, j, mode, res)
	})
	res.duration = time.Since(start)
	res.Seconds = res.duration.Round(10 * time.Millisecond).Seconds()
	if err != nil {
		res.err = err
		res.Error = err.Error()
	}
	return res
}

// runStages is one attempt at a system's build, with the flake delivered
// by mode: start the container (checking the image's Nix in the first),
// make the system runnable, build, query the closure, export, check,
// provenance, image (--tag), rebuild (--rebuild), push. The container goes at the end,
// even after cancellation, unless --keep-failed kept it.
func (r *Runner) runStages(ctx context.Context, j job, mode SourceMode, res *Result) (err error) {
	c, err := r.startContainer(ctx, j.prep, mode, j.system, engine.RoleBuild, true)
	res.Source = mode
	defer func() {
		if c.keptAs != "" || c.id == "" {
			return
		}
		t0 := time.Now()
		if rerr := r.Engine.RemoveContainer(ctx, c.id); rerr != nil {
			err = errors.Join(err, rerr)
		}
		r.trace("container remove", t0)
	}()
	if err != nil {
		return err
	}
	if c.nix, err = j.prep.nix.check(ctx, r.Engine, c.id, j.prep.Image.Ref); err != nil {
		return err
	}
	res.Nix = c.nix.String()

	if !res.Native {
		run, err := r.makeRunnable(ctx, c.id, j.system, j.prefix, j.prep.helperImage, !j.prep.userImage)
		if run.release != nil {
			defer run.release(context.WithoutCancel(ctx))
		}
		if err != nil {
			return err
		}
		res.Native, res.Emulator = run.native, run.emulator
		if res.Emulator == EmulatorNixcross {
			if res.QEMUCPU, err = r.chooseModel(ctx, j, c); err != nil {
				return err
			}
		} else if m, ok := j.req.QEMUCPU[j.system.String()]; ok && !res.Native {
			r.UI.Warnf("%s--qemu-cpu %s=%s not applied: the Docker host's own handler runs %s, whose CPU model nixcross cannot choose", j.prefix, j.system, m, j.system)
		}
	}

	stdout, err := r.nixBuild(ctx, j, c)
	res.KeptContainer = c.keptAs
	if err != nil {
		return err
	}
	// Nix ran with sandbox-fallback = false: built here means sandboxed.
	// A remote builder's sandbox is its own affair.
	res.Sandboxed = j.prep.Sandbox && len(c.builtOn) == 0
	if j.prep.Sandbox && !res.Sandboxed {
		r.UI.Warnf("%sNix built on %s: a --builders machine sandboxes by its own settings, which nixcross cannot see, so the result is not marked sandboxed", j.prefix, strings.Join(c.builtOn, ", "))
	}
	built, err := queryClosure(stdout)
	if built.outputs != nil {
		res.Outputs = built.outputs
	}
	if err != nil {
		return err
	}
	res.Closure = ClosureStats{Paths: len(built.closure), NarBytes: built.closure.NarBytes()}

	defer r.trace("export", time.Now())
	out, err := r.export(ctx, j, c, built, res)
	if err != nil {
		return err
	}
	if err := r.check(j, out, res); err != nil {
		return err
	}
	if err := r.dereference(j, out, built, res); err != nil {
		return err
	}
	if err := r.provenance(ctx, j, c, built, res); err != nil {
		return err
	}
	if err := r.image(ctx, j, c, built, out, res); err != nil {
		return err
	}
	if err := r.rebuild(ctx, j, c, res); err != nil {
		return err
	}
	defer r.trace("push", time.Now())
	return r.push(ctx, j, c, built, res)
}

// trace reports a step's duration under --verbose: where a build's time goes.
func (r *Runner) trace(step string, start time.Time) {
	if r.Verbose {
		r.UI.Printf("  %-28s %s", step, time.Since(start).Round(time.Millisecond))
	}
}
