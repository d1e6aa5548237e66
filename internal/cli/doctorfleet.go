package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fleet"
	"github.com/nixcross/nixcross/internal/system"
)

// fleetHostDocument is one fleet host in `doctor --json`: the systems the
// fleet routes to it, and the same facts and problems as the default one.
type fleetHostDocument struct {
	Route   string   `json:"route"` // the endpoint as the fleet names it
	Systems []string `json:"systems"`
	doctorDocument
}

// checkFleet checks every host of the fleet once, as doctor checks the
// default daemon, after a line naming the systems routed to it and
// whether they run natively there. A host that cannot be reached is a
// problem of its own; the others are still checked.
func checkFleet(ctx context.Context, text io.Writer, f fleet.File, def engine.Selection) []fleetHostDocument {
	if len(f.Routes) == 0 {
		return nil
	}
	var routes []hostRoute
	var systems []system.System
	for _, r := range f.Routes {
		routes = append(routes, hostRoute{System: r.System, Endpoint: r.Endpoint, fleet: f.Path})
		systems = append(systems, r.System)
	}
	var hosts []fleetHostDocument
	for _, g := range groupRoutes(systems, routes, def) {
		if g.name == "" {
			continue // routes to the default daemon, checked above
		}
		names := make([]string, len(g.systems))
		for i, s := range g.systems {
			names[i] = s.String()
		}
		fmt.Fprintf(text, "\nfleet host        %s builds %s (%s)\n", g.name, strings.Join(names, ", "), f.Path)
		doc, err := checkHost(ctx, g.sel, text, false)
		if err != nil {
			// err names the fleet file and systems (the selection's Origin).
			fmt.Fprintf(text, "problem: %s\n", doc.Problems[0])
		} else {
			for _, s := range g.systems {
				fmt.Fprintf(text, "routed here       %s, %s\n", s, fleetRunsAs(s, doc))
			}
		}
		hosts = append(hosts, fleetHostDocument{Route: g.name, Systems: names, doctorDocument: doc})
	}
	return hosts
}

// fleetRunsAs says how a routed system runs on its host: a route to a
// host that must emulate it works, but is the slow way a fleet is meant
// to avoid.
func fleetRunsAs(s system.System, host doctorDocument) string {
	if sys, err := system.Parse(host.System); err == nil && (s == sys || s.CompatibleWith(sys)) {
		return "native"
	}
	return "emulated (a host of its own architecture builds it several times faster)"
}
