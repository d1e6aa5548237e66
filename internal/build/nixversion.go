package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
	// s3: a --push goes to an s3:// store, so the image's Nix must have
	// S3 support (Debian's has not), known before an hour's build.
	s3      bool
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
		} else if c.s3 && !hasS3(ctx, eng, id) {
			c.err = status.Environment(fmt.Errorf("image %s: its Nix %s cannot write to s3:// stores: it was built without S3 support", image, c.version), s3Hint)
		}
	}
	return c.version, c.err
}

// s3Hint is the advice when the image's Nix has no S3 store.
const s3Hint = "push to a directory with --to-cache DIR and upload that (aws s3 sync DIR s3://BUCKET), or use --image with a Nix built with S3 support (such as nixos/nix)"

// hasS3 reports whether the container's Nix lists the S3 store among its
// store types (`nix help-stores`, Nix 2.19 and later). A Nix that cannot
// say is given the benefit of the doubt: the push reports it otherwise.
func hasS3(ctx context.Context, eng *engine.Engine, id string) bool {
	var out bytes.Buffer
	if err := eng.Exec(ctx, id, engine.ExecSpec{Cmd: nix.StoreTypesCommand(), Stdout: &out, Stderr: io.Discard}); err != nil {
		return true
	}
	return strings.Contains(out.String(), nix.S3StoreName)
}
