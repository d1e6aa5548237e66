package build

import (
	"context"
	"sync"

	"github.com/nixcross/nixcross/internal/system"
)

// Group is the share of a fleet run (--host-for) that one daemon builds.
type Group struct {
	// Runner builds on the group's daemon; nil when Err says why it could
	// not be reached.
	Runner  *Runner
	Systems []system.System
	// Host names the endpoint in the results when Runner is nil.
	Host string
	Err  error
}

// RunFleet builds req's systems, each on its group's daemon. Each group is
// a run of its own on its daemon (its own image, cache volume, emulation
// and source mode, see Runner.Run); the groups run at once, sharing one
// semaphore of req.Jobs slots (so --jobs caps the builds in flight), or,
// with Jobs 0, each with a slot of its own; they settle a changed
// flake.lock once between them. A group that fails
// before building (daemon unreachable, image) fails only its systems.
// Results follow req.Systems; links are the run's as a whole (result-<system>
// when there are several), wherever each system built. The error is the
// first failure in that order, as Run's.
func RunFleet(ctx context.Context, groups []Group, req Request, src FlakeSource) ([]*Result, error) {
	links := OutLinks(req.OutLink, req.Systems)
	linkOf := make(map[system.System]string, len(req.Systems))
	for i, s := range req.Systems {
		linkOf[s] = links[i]
	}
	// One semaphore for the run caps the total (--jobs N); without one,
	// each daemon gets its own slot: its CPUs are its own.
	share := runShare{sem: make(chan struct{}, max(req.Jobs, 1)), prefixed: len(req.Systems) > 1, lockOnce: new(sync.Once)}
	bySystem := make(map[system.System]*Result, len(req.Systems))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			share := share
			if req.Jobs == 0 {
				share.sem = make(chan struct{}, 1)
			}
			results, err := g.run(ctx, req, src, linkOf, share)
			mu.Lock()
			defer mu.Unlock()
			for i, s := range g.Systems {
				if err != nil {
					bySystem[s] = failedResult(req, s, g.host(), err)
					continue
				}
				bySystem[s] = results[i]
			}
		}()
	}
	wg.Wait()
	results := make([]*Result, 0, len(req.Systems))
	for _, s := range req.Systems {
		if res, ok := bySystem[s]; ok {
			results = append(results, res)
		}
	}
	return results, failures(results)
}

func (g Group) run(ctx context.Context, req Request, src FlakeSource, linkOf map[system.System]string, share runShare) ([]*Result, error) {
	if g.Err != nil {
		return nil, g.Err
	}
	links := make([]string, len(g.Systems))
	for i, s := range g.Systems {
		links[i] = linkOf[s]
	}
	return g.Runner.runSystems(ctx, req, src, g.Systems, links, share)
}

func (g Group) host() string {
	if g.Runner != nil && g.Runner.Engine != nil {
		return g.Runner.Engine.Endpoint.Host
	}
	return g.Host
}

// failedResult is the result of a system whose daemon failed it before
// its build began.
func failedResult(req Request, s system.System, host string, err error) *Result {
	return &Result{System: s.String(), Docker: host, Flake: req.Flake, Attr: req.Attr, Machines: []string{}, Outputs: []string{}, err: err, Error: err.Error()}
}
