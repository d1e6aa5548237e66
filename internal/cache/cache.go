// Package cache owns the persistent Nix store volumes: listing them with
// their image, size and last use, and garbage-collecting them with Nix.
// Creating them belongs to the build (see build.CacheVolumeName).
package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/ui"
)

// LastUsedFile is touched by every build that uses a volume.
const LastUsedFile = "/nix/var/nixcross/last-used"

// RootsDir holds the GC roots of results built in a volume.
const RootsDir = "/nix/var/nix/gcroots/nixcross"

// Volume is one cache volume.
type Volume struct {
	Name         string    `json:"name"`
	Image        string    `json:"image"`
	ImageID      string    `json:"imageId"`
	ImagePresent bool      `json:"imagePresent"`
	Size         int64     `json:"size"` // -1 when the daemon does not say
	LastUsed     time.Time `json:"lastUsed"`
	Created      string    `json:"created"`
}

// List returns every cache volume nixcross made. LastUsed is left zero:
// reading it costs a container per volume (see LastUsed).
func List(ctx context.Context, eng *engine.Engine) ([]Volume, error) {
	res, err := eng.API.VolumeList(ctx, client.VolumeListOptions{Filters: engine.ManagedFilter(engine.RoleCache)})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	sizes := map[string]int64{}
	if du, err := eng.API.DiskUsage(ctx, client.DiskUsageOptions{Volumes: true}); err == nil {
		for _, v := range du.Volumes.Items {
			if v.UsageData != nil {
				sizes[v.Name] = v.UsageData.Size
			}
		}
	}
	var out []Volume
	for _, v := range res.Items {
		vol := Volume{Name: v.Name, Image: v.Labels[engine.LabelImage], ImageID: v.Labels[engine.LabelImageID], Size: -1, Created: v.CreatedAt}
		if s, ok := sizes[v.Name]; ok {
			vol.Size = s
		}
		if vol.ImageID != "" {
			if _, err := eng.API.ImageInspect(ctx, vol.ImageID); err == nil {
				vol.ImagePresent = true
			}
		}
		out = append(out, vol)
	}
	return out, nil
}

// LastUsed reads when a build last used the volume, from a file inside it,
// through a short-lived container of the volume's image (zero when the
// image is gone or no build recorded it).
func LastUsed(ctx context.Context, eng *engine.Engine, v Volume) time.Time {
	if !v.ImagePresent {
		return time.Time{}
	}
	var out bytes.Buffer
	err := runInVolume(ctx, eng, v, []string{"sh", "-c", "stat -c %Y " + LastUsedFile + " 2>/dev/null || echo 0"}, &out, io.Discard)
	if err != nil {
		return time.Time{}
	}
	secs, _ := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if secs == 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

// runInVolume runs cmd in a short-lived container of the volume's own
// image with the volume at /nix, and removes it afterwards.
func runInVolume(ctx context.Context, eng *engine.Engine, v Volume, cmd []string, stdout, stderr io.Writer) error {
	id, err := eng.CreateContainer(ctx, engine.ContainerSpec{
		Image:     v.ImageID,
		Cmd:       cmd,
		Labels:    engine.Labels(engine.RoleGC),
		Mounts:    []mount.Mount{{Type: mount.TypeVolume, Source: v.Name, Target: "/nix"}},
		NoNetwork: true,
	})
	if err != nil {
		return err
	}
	defer eng.RemoveContainer(ctx, id)
	if err := eng.StartContainer(ctx, id); err != nil {
		return err
	}
	code, err := eng.WaitContainer(ctx, id)
	if err != nil {
		return err
	}
	if err := eng.ContainerOutput(ctx, id, stdout, stderr); err != nil {
		return err
	}
	if code != 0 {
		return &engine.ExitError{Cmd: cmd[0], Code: code}
	}
	return nil
}

// GC deletes result roots older than keep and collects garbage in every
// volume whose image is present.
func GC(ctx context.Context, eng *engine.Engine, keep time.Duration, rep *ui.Reporter) error {
	vols, err := List(ctx, eng)
	if err != nil {
		return err
	}
	minutes := int(keep.Minutes())
	for _, v := range vols {
		if !v.ImagePresent {
			rep.Printf("%s: image gone, skipped (remove it with `nixcross cache prune`)", v.Name)
			continue
		}
		done := rep.Phase("", "gc "+v.Name)
		script := fmt.Sprintf(`mkdir -p %[1]s && find %[1]s -maxdepth 1 -type l -mmin +%[2]d -print -delete | sed 's/^/dropped root /' && nix-collect-garbage 2>&1 | tail -n 2`, RootsDir, minutes)
		var out bytes.Buffer
		err := runInVolume(ctx, eng, v, []string{"sh", "-c", script}, &out, &out)
		done(err)
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line != "" {
				rep.Printf("  %s", line)
			}
		}
		if err != nil {
			return fmt.Errorf("gc %s: %w", v.Name, err)
		}
	}
	return nil
}
