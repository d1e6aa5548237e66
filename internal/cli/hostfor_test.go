package cli

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fleet"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

func TestParseHostFor(t *testing.T) {
	x86, arm := mustSystem(t, "x86_64-linux"), mustSystem(t, "aarch64-linux")
	both := build.Request{Systems: []system.System{x86, arm}}
	routes, err := parseHostFor([]string{"aarch64-linux=tcp://arm-box:2375"}, both)
	if err != nil || len(routes) != 1 || routes[0] != (hostRoute{System: arm, Endpoint: "tcp://arm-box:2375"}) {
		t.Fatalf("routes %+v, err %v", routes, err)
	}
	if routes, err := parseHostFor(nil, both); routes != nil || err != nil {
		t.Errorf("no --host-for: %+v, %v", routes, err)
	}
	tagged := both
	tag, err := name.NewTag("registry.example.org/app:1")
	if err != nil {
		t.Fatal(err)
	}
	tagged.Ship.Tag = tag
	// A fleet's images are made on this machine from every host's export,
	// so --tag is one index whichever hosts built its systems.
	if routes, err := parseHostFor([]string{"aarch64-linux=tcp://a:2375"}, tagged); err != nil || len(routes) != 1 {
		t.Errorf("--host-for with --tag: %+v, %v", routes, err)
	}
	for _, tc := range []struct {
		name   string
		values []string
		req    build.Request
		want   string
	}{
		{"no endpoint", []string{"aarch64-linux="}, both, "needs SYSTEM=ENDPOINT"},
		{"no =", []string{"aarch64-linux"}, both, "needs SYSTEM=ENDPOINT"},
		{"scheme", []string{"aarch64-linux=tpc://a:2375"}, both, "scheme is not unix://"},
		{"unknown system", []string{"arm-linux=tcp://arm-box:2375"}, both, "arm-linux"},
		{"twice", []string{"aarch64-linux=tcp://a:2375", "aarch64-linux=b"}, both, "given twice"},
		{"not built", []string{"riscv64-linux=tcp://a:2375"}, both, "not among the systems"},
		{"no --system", []string{"aarch64-linux=tcp://a:2375"}, build.Request{}, "not among the systems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHostFor(tc.values, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) || status.ExitCode(err) != status.ExitUsage {
				t.Errorf("err = %v (exit %d), want exit 2 mentioning %q", err, status.ExitCode(err), tc.want)
			}
		})
	}
}

func TestGroupRoutes(t *testing.T) {
	x86, arm, rv := mustSystem(t, "x86_64-linux"), mustSystem(t, "aarch64-linux"), mustSystem(t, "riscv64-linux")
	def := engine.Selection{Host: "unix:///default.sock", ConfigDir: "/cfg"}
	groups := groupRoutes([]system.System{arm, x86, rv}, []hostRoute{
		{System: arm, Endpoint: "ssh://me@arm-box"},
		{System: rv, Endpoint: "riscv-board"},
	}, def)
	if len(groups) != 3 {
		t.Fatalf("groups %+v", groups)
	}
	want := []struct {
		sel     engine.Selection
		systems []system.System
	}{
		{engine.Selection{Host: "ssh://me@arm-box", ConfigDir: "/cfg"}, []system.System{arm}},
		{def, []system.System{x86}},
		{engine.Selection{Context: "riscv-board", ConfigDir: "/cfg"}, []system.System{rv}},
	}
	for i, w := range want {
		g := groups[i]
		if g.sel.Host != w.sel.Host || g.sel.Context != w.sel.Context || g.sel.ConfigDir != w.sel.ConfigDir || len(g.systems) != 1 || g.systems[0] != w.systems[0] {
			t.Errorf("group %d = %+v, want %+v", i, g, w)
		}
	}
	if groups[0].sel.Origin != "--host-for aarch64-linux" || groups[1].sel.Origin != "" {
		t.Errorf("origins %q, %q", groups[0].sel.Origin, groups[1].sel.Origin)
	}
	// Two systems on one endpoint share a group (one image, one volume).
	groups = groupRoutes([]system.System{x86, arm, rv}, []hostRoute{
		{System: arm, Endpoint: "tcp://a:2375"},
		{System: rv, Endpoint: "tcp://a:2375"},
	}, def)
	if len(groups) != 2 || len(groups[1].systems) != 2 || groups[1].systems[0] != arm || groups[1].systems[1] != rv {
		t.Errorf("groups %+v", groups)
	}
}

// TestWithFleet: the fleet routes the run's systems it names, a
// --host-for wins over it, and its other systems are not built.
func TestWithFleet(t *testing.T) {
	x86, arm, rv := mustSystem(t, "x86_64-linux"), mustSystem(t, "aarch64-linux"), mustSystem(t, "riscv64-linux")
	f := fleet.File{Path: "/cfg/fleet", Found: true, Routes: []fleet.Route{
		{System: rv, Endpoint: "board", Line: 1},
		{System: arm, Endpoint: "mac", Line: 2},
		{System: x86, Endpoint: "ssh://me@server", Line: 3},
	}}
	flags := []hostRoute{{System: x86, Endpoint: "tcp://other:2375"}}
	got := withFleet(flags, f, []system.System{x86, arm})
	want := []hostRoute{{System: x86, Endpoint: "tcp://other:2375"}, {System: arm, Endpoint: "mac", fleet: "/cfg/fleet"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("routes %+v, want %+v", got, want)
	}
	if o := got[1].origin("aarch64-linux"); o != "fleet /cfg/fleet: aarch64-linux" {
		t.Errorf("origin %q", o)
	}
	if o := got[0].origin("x86_64-linux"); o != "--host-for x86_64-linux" {
		t.Errorf("origin %q", o)
	}
	if got := withFleet(nil, fleet.File{}, []system.System{x86}); len(got) != 0 {
		t.Errorf("no fleet: %+v", got)
	}
}

// TestGroupRoutesSameDaemon: a route to the daemon the default already is
// joins the default's group; systems keep the run's order within it.
func TestGroupRoutesSameDaemon(t *testing.T) {
	x86, arm := mustSystem(t, "x86_64-linux"), mustSystem(t, "aarch64-linux")
	def := engine.Selection{Host: "unix:///default.sock", ConfigDir: t.TempDir()}
	groups := groupRoutes([]system.System{x86, arm}, []hostRoute{{System: arm, Endpoint: "unix:///default.sock"}}, def)
	if len(groups) != 1 || len(groups[0].systems) != 2 || groups[0].systems[0] != x86 || groups[0].systems[1] != arm || groups[0].name != "" {
		t.Errorf("groups %+v, want one: the default daemon's", groups)
	}
	groups = groupRoutes([]system.System{arm, x86}, []hostRoute{{System: arm, Endpoint: "unix:///default.sock"}}, def)
	if len(groups) != 1 || groups[0].name != "" || groups[0].sel.Origin != "" || len(groups[0].systems) != 2 {
		t.Errorf("groups %+v, want one: the default daemon's, named so", groups)
	}
}

func mustSystem(t *testing.T, s string) system.System {
	t.Helper()
	sys, err := system.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}
