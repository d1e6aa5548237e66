package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
)

// CacheVolumePrefix names the volumes that hold a builder image's Nix store.
const CacheVolumePrefix = "nixcross-store-"

// CacheVolumeName is keyed to the image's content ID, never its tag: a
// rebuilt or different image gets a fresh volume instead of a stale store
// that would shadow the new image's /nix.
func CacheVolumeName(imageID string) string {
	id := strings.TrimPrefix(imageID, "sha256:")
	if len(id) > 16 {
		id = id[:16]
	}
	return CacheVolumePrefix + id
}

// ensureCacheVolume creates (or finds) the cache volume for img. Docker
// seeds an empty named volume from the image's /nix on first mount, which
// is what makes images that keep Nix itself under /nix (nixos/nix) work.
func ensureCacheVolume(ctx context.Context, eng *engine.Engine, img engine.Image) (string, error) {
	name := CacheVolumeName(img.ID)
	_, err := eng.API.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name:   name,
		Labels: engine.Labels(engine.RoleCache, engine.LabelImage, img.Ref, engine.LabelImageID, img.ID),
	})
	if err != nil {
		return "", status.Environment(fmt.Errorf("create cache volume %s: %w", name, err), "")
	}
	return name, nil
}
