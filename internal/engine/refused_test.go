package engine

import (
	"errors"
	"fmt"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
)

// TestRefused: what the daemon turns down as not allowed, not what fails.
func TestRefused(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("authorization denied by plugin opa: denied: %w", cerrdefs.ErrPermissionDenied), true},
		{fmt.Errorf("invalid --security-opt: %w", cerrdefs.ErrInvalidArgument), true},
		{errors.New("OCI runtime create failed: unable to apply apparmor profile: Permission denied"), true},
		{fmt.Errorf("No such image: x: %w", cerrdefs.ErrNotFound), false},
		{errors.New("connection reset by peer"), false},
		{nil, false},
	} {
		if got := Refused(c.err); got != c.want {
			t.Errorf("Refused(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
