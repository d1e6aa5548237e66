package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/nixcross/nixcross/internal/image"
	"github.com/nixcross/nixcross/internal/status"
)

// Shipped is where a run's images went, as --json reports it.
type Shipped struct {
	// Ref is --tag; Digest the multi-arch index of every system's image.
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Pushed: the index went to Ref's registry (--push-image).
	Pushed bool `json:"pushed"`
	// Layout is the OCI image layout the index was written to (--oci-out).
	Layout string `json:"ociLayout,omitempty"`
	// Loaded are the names the images have in the daemon (--load).
	Loaded []string `json:"loaded,omitempty"`
}

// Ship sends the images of a run whose builds all succeeded where req
// says: an OCI layout, the registry, the daemon. The index lists the
// systems in the order they were asked for, so the same build gives the
// same index digest.
func (r *Runner) Ship(ctx context.Context, req Request, results []*Result) (*Shipped, error) {
	if !req.Ship.Wanted() {
		return nil, nil
	}
	var images []image.Platformed
	for _, res := range results {
		if res.image == nil {
			return nil, fmt.Errorf("no image of the %s build", res.System)
		}
		images = append(images, image.Platformed{Image: res.image, Platform: res.platform})
	}
	idx := image.Index(images)
	digest, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	tag := req.Ship.Tag
	shipped := &Shipped{Ref: req.Ship.Ref, Digest: digest.String()}
	if dir := req.Ship.LayoutDir; dir != "" {
		done := r.UI.Phase("", "write OCI layout "+dir)
		err := image.WriteLayout(dir, tag, idx)
		done(err)
		if err != nil {
			return shipped, status.Environment(err, "")
		}
		shipped.Layout = dir
	}
	if req.Ship.Push {
		done := r.UI.Phase("", "push image "+req.Ship.Ref)
		err := image.Push(ctx, tag, idx)
		done(err)
		if err != nil {
			return shipped, pushImageFailure(ctx, err)
		}
		shipped.Pushed = true
	}
	if req.Ship.Load {
		if len(results) > 1 && r.Engine.ContainerdStore {
			r.UI.Warnf("the daemon keeps images in containerd's store, which could hold all systems under %s; nixcross loads one name per system all the same (--push-image makes %s one multi-platform image to pull)", req.Ship.Ref, req.Ship.Ref)
		}
		for _, res := range results {
			ref := req.Ship.Ref
			if len(results) > 1 {
				ref = image.SystemRef(ref, tag, res.System)
			}
			t, err := image.ParseTag(ref)
			if err != nil {
				return shipped, status.Usage(fmt.Errorf("--tag %s with the system appended: %w", req.Ship.Ref, err), "")
			}
			done := r.UI.Phase("", "load image "+ref)
			err = r.load(ctx, t, res)
			done(err)
			if err != nil {
				return shipped, err
			}
			res.Image.Loaded = ref
			shipped.Loaded = append(shipped.Loaded, ref)
		}
	}
	return shipped, nil
}

// load streams res's image as a `docker save` archive into the daemon.
func (r *Runner) load(ctx context.Context, ref name.Tag, res *Result) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(image.WriteArchive(pw, ref, res.image, r.Engine.Endpoint.Local())) }()
	err := r.Engine.LoadImage(ctx, pr, nil)
	pr.CloseWithError(errors.New("load ended"))
	return err
}

// pushImageFailure classifies a failed push: refused plain HTTP is the
// user's to change (exit 2), anything else the registry's or the
// network's (exit 3).
func pushImageFailure(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, image.ErrPlainHTTP):
		return status.Usage(err, "serve the registry over HTTPS, or reach it on localhost (an ssh tunnel)")
	}
	return status.Environment(err, "check the registry's address and that `docker login` has credentials for it")
}
