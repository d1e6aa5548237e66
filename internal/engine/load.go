package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
)

// LoadImage loads a `docker save` archive into the daemon through the
// API, streamed, so a remote daemon gets it as well as a local one. The
// image is the user's result, not a resource of nixcross: it carries no
// nixcross label, which `nixcross clean` would remove, and which would
// change its digest. log receives the daemon's lines ("Loaded image: …").
func (e *Engine) LoadImage(ctx context.Context, archive io.Reader, log io.Writer) error {
	res, err := e.API.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return status.Environment(fmt.Errorf("load image: %w", err), "")
	}
	defer res.Close()
	if err := readBuildStream(res, log); err != nil {
		return status.Environment(fmt.Errorf("load image: %w", err), "")
	}
	return nil
}
