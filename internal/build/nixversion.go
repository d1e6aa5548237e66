package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// nixCheck reads the image's Nix version once per run, in the first build
// container that starts (a container of its own would cost a create and a
// start), and refuses a Nix nixcross cannot build with before anything is
// built. Several systems' builds share it.
type nixCheck struct {
	mu      sync.Mutex
	done    bool
	version nix.Version
	err     error
}

// check returns the image's Nix version, or an environment error (exit 3)
// when the image has no Nix or one older than nix.MinVersion.
func (c *nixCheck) check(ctx context.Context, eng *engine.Engine, id, image string) (nix.Version, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return c.version, c.err
	}
	var out bytes.Buffer
	err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: nix.VersionCommand(), Stdout: &out, Stderr: &out})
	if ctx.Err() != nil {
		// Interrupted: nothing learnt, and nothing to remember.
		return nix.Version{}, context.Cause(ctx)
	}
	c.done = true
	var exit *engine.ExitError
	switch {
	case errors.As(err, &exit):
		c.err = status.Environment(fmt.Errorf("image %s: `nix --version` failed (exit %d): %s", image, exit.Code, bytes.TrimSpace(out.Bytes())),
			"nixcross needs an image with Nix on its PATH (the official nixos/nix layout works); drop --image to use the built-in builder image")
	case err != nil:
		c.err = status.Environment(fmt.Errorf("read the Nix version of image %s: %w", image, err), "")
	default:
		c.version, c.err = nix.ParseVersion(out.String())
		if c.err != nil {
			c.err = status.Environment(fmt.Errorf("image %s: %w", image, c.err), "drop --image to use the built-in builder image")
		} else if serr := c.version.Supported(); serr != nil {
			c.err = status.Environment(fmt.Errorf("image %s: %w", image, serr),
				"drop --image to use the built-in builder image (Nix 2.26 on Debian trixie), or use an image with Nix 2.18 or later")
		}
	}
	return c.version, c.err
}
