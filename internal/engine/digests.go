package engine

import (
	"context"
	"fmt"
)

// RepoDigests are the registry digests of image ref ("repo@sha256:…"):
// none for an image built or loaded locally and never pushed or pulled.
func (e *Engine) RepoDigests(ctx context.Context, ref string) ([]string, error) {
	img, err := e.API.ImageInspect(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return img.RepoDigests, nil
}
