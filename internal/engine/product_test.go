package engine

import (
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// TestProduct: the engine is named from its /version answer, as Docker
// and Podman (4.3.1's service, measured) give it.
func TestProduct(t *testing.T) {
	cases := []struct {
		v    client.ServerVersionResult
		want string
	}{
		{client.ServerVersionResult{Platform: client.PlatformInfo{Name: "Docker Engine - Community"}, Components: []system.ComponentVersion{{Name: "Engine"}, {Name: "containerd"}}}, "Docker"},
		{client.ServerVersionResult{Components: []system.ComponentVersion{{Name: "Engine"}}}, "Docker"},
		{client.ServerVersionResult{Platform: client.PlatformInfo{Name: "Linux/amd64/debian-12"}, Components: []system.ComponentVersion{{Name: "Podman Engine", Version: "4.3.1"}}}, "Podman"},
	}
	for _, c := range cases {
		if got := product(c.v); got != c.want {
			t.Errorf("%+v: %s, want %s", c.v, got, c.want)
		}
	}
}

// TestKernelAtLeast: the daemon's kernel as Info reports it, for what
// user namespaces allow (binfmt_misc of their own from 6.7).
func TestKernelAtLeast(t *testing.T) {
	for v, want := range map[string]bool{"6.18.44-fc-v1272": true, "6.7.0": true, "6.6.30-generic": false, "5.15.0-1": false, "7.0": true, "": false, "unknown": false} {
		if got := (&Engine{KernelVersion: v}).KernelAtLeast(6, 7); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
