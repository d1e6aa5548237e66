package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fleet"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// addHostForFlag declares --host-for on the build command's flags.
func addHostForFlag(f *pflag.FlagSet, dst *[]string) {
	f.StringArrayVar(dst, "host-for", nil, "`SYSTEM=ENDPOINT`: build SYSTEM on this Docker daemon (repeatable; as --host takes it, unix:// tcp:// ssh://, or a Docker context name); the other systems build on the default one, in parallel")
}

// hostRoute is a system routed to a daemon, by --host-for or by the
// fleet file (fleet is its path then).
type hostRoute struct {
	System   system.System
	Endpoint string
	fleet    string
}

// origin names where a group's route came from, for its endpoint's source
// and its errors: "--host-for aarch64-linux" or "fleet ~/.config/nixcross/fleet: aarch64-linux".
func (r hostRoute) origin(systems string) string {
	if r.fleet != "" {
		return "fleet " + r.fleet + ": " + systems
	}
	return "--host-for " + systems
}

// parseHostFor reads --host-for values against the run's systems. A system
// routed but not in --system is refused rather than added: without
// --system the run builds the default daemon's own system, which only the
// daemon knows, and adding systems silently would change which links the
// run makes (result or result-<system>) behind the user's back.
func parseHostFor(values []string, req build.Request) ([]hostRoute, error) {
	if len(values) == 0 {
		return nil, nil
	}
	var routes []hostRoute
	seen := map[system.System]bool{}
	for _, v := range values {
		r, err := fleet.ParseRoute(v)
		var format *fleet.FormatError
		if errors.As(err, &format) {
			msg := fmt.Errorf("--host-for needs SYSTEM=ENDPOINT, got %q", v)
			if format.Why != fleet.WantRoute {
				msg = fmt.Errorf("--host-for %q: %s", v, format.Why)
			}
			return nil, status.Usage(msg, "e.g. --host-for aarch64-linux=ssh://me@arm-box or --host-for aarch64-linux=CONTEXT")
		}
		if err != nil {
			return nil, err
		}
		if seen[r.System] {
			return nil, status.Usage(fmt.Errorf("--host-for %s given twice", r.System), "route each system to one endpoint")
		}
		seen[r.System] = true
		if !containsSystem(req.Systems, r.System) {
			return nil, status.Usage(fmt.Errorf("--host-for %s: %s is not among the systems to build", r.System, r.System), "list it in --system too, e.g. --system "+r.System.String())
		}
		routes = append(routes, hostRoute{System: r.System, Endpoint: r.Endpoint})
	}
	return routes, nil
}

// withFleet adds the fleet file's routes for the run's systems to the
// --host-for ones, which win: a flag is the user's word for this run. A
// fleet may name systems this run does not build; those are not built.
func withFleet(routes []hostRoute, f fleet.File, systems []system.System) []hostRoute {
	flagged := map[system.System]bool{}
	for _, r := range routes {
		flagged[r.System] = true
	}
	for _, s := range systems {
		if r, ok := f.Lookup(s); ok && !flagged[s] {
			routes = append(routes, hostRoute{System: s, Endpoint: r.Endpoint, fleet: f.Path})
		}
	}
	return routes
}

func containsSystem(systems []system.System, s system.System) bool {
	for _, t := range systems {
		if t == s {
			return true
		}
	}
	return false
}

// fleetGroup is the systems one endpoint builds; sel is how to reach it.
type fleetGroup struct {
	sel     engine.Selection
	name    string // the endpoint as given, "" for the default daemon
	systems []system.System
	route   hostRoute // the first route to it, for its origin
}

// groupRoutes splits the run's systems by endpoint: the unrouted ones on
// the default daemon (def), the others one group per endpoint, groups in
// the order their first system comes in systems. An ENDPOINT with :// is
// an address, as --host takes it; otherwise a Docker context's name.
func groupRoutes(systems []system.System, routes []hostRoute, def engine.Selection) []fleetGroup {
	byRoute := map[system.System]hostRoute{}
	for _, r := range routes {
		byRoute[r.System] = r
	}
	var groups []fleetGroup
	index := map[string]int{}
	for _, s := range systems {
		r, ok := byRoute[s]
		ep := r.Endpoint
		if _, have := index[ep]; !have {
			sel := def
			if ok {
				sel = engine.Selection{Getenv: def.Getenv, ConfigDir: def.ConfigDir}
				if strings.Contains(ep, "://") {
					sel.Host = ep
				} else {
					sel.Context = ep
				}
			}
			index[ep] = len(groups)
			groups = append(groups, fleetGroup{sel: sel, name: ep, route: r})
		}
		g := &groups[index[ep]]
		g.systems = append(g.systems, s)
	}
	groups = mergeSameDaemon(groups)
	for i, g := range groups {
		if g.name != "" {
			groups[i].sel.Origin = g.route.origin(systemNames(g.systems))
		}
	}
	return groups
}

// mergeSameDaemon joins groups whose endpoints resolve to one daemon (a
// route to the default context, or to the socket the default already is):
// one daemon is one run, one image and volume, and counts once against
// the fleet's default -j. Endpoints that do not resolve stay apart; they
// fail on their own.
func mergeSameDaemon(groups []fleetGroup) []fleetGroup {
	var out []fleetGroup
	index := map[string]int{}
	for _, g := range groups {
		ep, err := engine.Resolve(g.sel)
		if err != nil {
			out = append(out, g)
			continue
		}
		if i, ok := index[ep.Host]; ok {
			out[i].systems = append(out[i].systems, g.systems...)
			if g.name == "" { // the default daemon names the group
				out[i].sel, out[i].name = g.sel, ""
			}
			continue
		}
		index[ep.Host] = len(out)
		out = append(out, g)
	}
	return out
}

// buildFleet builds a run with --host-for: one Runner per endpoint, each
// connecting on its own (an unreachable daemon fails only its systems),
// run together by build.RunFleet. Runners rather than one Runner with
// several engines, because everything a run prepares (image, cache volume,
// emulation, source mode) belongs to one daemon.
func buildFleet(ctx context.Context, routes []hostRoute, req build.Request, src build.FlakeSource, def engine.Selection, runner func(*engine.Engine) *build.Runner) ([]*build.Result, error) {
	fleet := groupRoutes(req.Systems, routes, def)
	groups := make([]build.Group, len(fleet))
	var wg sync.WaitGroup
	for i, g := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			groups[i].Systems = g.systems
			eng, err := engine.Connect(ctx, g.sel)
			if err != nil {
				groups[i].Host, groups[i].Err = endpointName(g), err
				return
			}
			groups[i].Runner = runner(eng)
		}()
	}
	wg.Wait()
	defer func() {
		for _, g := range groups {
			if g.Runner != nil {
				g.Runner.Engine.Close()
			}
		}
	}()
	return build.RunFleet(ctx, groups, req, src)
}

func systemNames(systems []system.System) string {
	names := make([]string, len(systems))
	for i, s := range systems {
		names[i] = s.String()
	}
	return strings.Join(names, ",")
}

// endpointName names an endpoint that could not be reached: its address,
// or as given (a context name).
func endpointName(g fleetGroup) string {
	if ep, err := engine.Resolve(g.sel); err == nil {
		return ep.Host
	}
	return g.name
}
