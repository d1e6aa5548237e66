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
