package engine

import (
	"context"

	"github.com/moby/moby/client"
)

// Fake is an API for unit tests: set the function fields a test needs;
// any other call panics through the nil embedded API, which shows at once
// which call a test did not expect.
type Fake struct {
	API
	ContainerListFunc   func(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerRemoveFunc func(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
}

func (f *Fake) ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	return f.ContainerListFunc(ctx, options)
}

func (f *Fake) ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	return f.ContainerRemoveFunc(ctx, container, options)
}
