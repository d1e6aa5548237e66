package engine

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Volume is a volume nixcross made.
type Volume struct {
	Name    string
	Labels  map[string]string
	Created string
}

// CreateVolume creates a named volume, or finds the one of that name.
func (e *Engine) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	_, err := e.API.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels})
	return err
}

// Volumes lists the volumes nixcross made, optionally of one role.
func (e *Engine) Volumes(ctx context.Context, role string) ([]Volume, error) {
	res, err := e.API.VolumeList(ctx, client.VolumeListOptions{Filters: managedFilter(role)})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	out := make([]Volume, 0, len(res.Items))
	for _, v := range res.Items {
		out = append(out, Volume{Name: v.Name, Labels: v.Labels, Created: v.CreatedAt})
	}
	return out, nil
}

// VolumeSizes returns the daemon's disk usage of volumes by name; empty
// when the daemon does not say.
func (e *Engine) VolumeSizes(ctx context.Context) map[string]int64 {
	sizes := map[string]int64{}
	// Verbose: from API 1.52 the daemon lists volumes (and their sizes)
	// only when asked to; older ones list them anyway.
	if du, err := e.API.DiskUsage(ctx, client.DiskUsageOptions{Volumes: true, Verbose: true}); err == nil {
		for _, v := range du.Volumes.Items {
			if v.UsageData != nil {
				sizes[v.Name] = v.UsageData.Size
			}
		}
	}
	return sizes
}

// RemoveVolume removes a volume; force also removes one a container still
// names. See InUse for the error of a volume in use.
func (e *Engine) RemoveVolume(ctx context.Context, name string, force bool) error {
	if _, err := e.API.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: force}); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// InUse reports whether err says a resource is in use by a container.
func InUse(err error) bool {
	return err != nil && (cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "in use"))
}
