// Package cache owns the persistent Nix store volumes, one per builder
// image and flake: their name, creating them, the GC roots builds leave in them,
// listing them with their image, size and last use, garbage-collecting
// them with Nix, and removing them.
package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/proc"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// VolumePrefix names the volumes that hold a builder image's Nix store.
const VolumePrefix = "nixcross-store-"

// VolumeName is the volume of the builder image imageID for the flake
// identified by flake (see build.FlakeSource.StoreKey). It is keyed to the
// image's content ID, never its tag: a rebuilt or different image gets a
// fresh volume instead of a stale store that would shadow the new image's
// /nix. And to the flake: builds run as root without Nix's sandbox, so a
// derivation can rewrite any path of the store it builds in; one store per
// flake keeps that within the flake that built it.
func VolumeName(imageID, flake string) string {
	id := strings.TrimPrefix(imageID, "sha256:")
	if len(id) > 16 {
		id = id[:16]
	}
	return VolumePrefix + id + "-" + FlakeKey(flake)
}

// FlakeKey is the short hash of a flake's identity that names its volumes.
func FlakeKey(flake string) string {
	sum := sha256.Sum256([]byte(flake))
	return hex.EncodeToString(sum[:])[:12]
}

// SandboxedSuffix ends the name of the volume only sandboxed builds use.
const SandboxedSuffix = "-sandboxed"

// Ensure creates (or finds) the cache volume for img and flake. Docker
// seeds an empty named volume from the image's /nix on first mount, which
// is what makes images that keep Nix itself under /nix (nixos/nix) work;
// the built-in image's /nix is nearly empty (its Nix is in /usr), so a
// flake's first volume costs no copy.
//
// Sandboxed builds (--sandbox) get a volume of their own: in the shared one,
// a path an unsandboxed build made would be reused as is, and the result
// would claim a sandbox it never had.
func Ensure(ctx context.Context, eng *engine.Engine, img engine.Image, flake string, sandboxed bool) (string, error) {
	name := VolumeName(img.ID, flake)
	if sandboxed {
		name += SandboxedSuffix
	}
	labels := engine.Labels(engine.RoleCache, engine.LabelImage, img.Ref, engine.LabelImageID, img.ID,
		engine.LabelFlake, flake, engine.LabelFlakeKey, FlakeKey(flake))
	if filepath.IsAbs(flake) {
		// A directory on this machine, not a reference Nix fetches.
		labels[engine.LabelFlakeHost] = proc.Host()
	}
	if err := eng.CreateVolume(ctx, name, labels); err != nil {
		return "", status.Environment(fmt.Errorf("create cache volume %s: %w", name, err), "")
	}
	return name, nil
}

// LastUsedFile is touched by every build that uses a volume.
const LastUsedFile = "/nix/var/nixcross/last-used"

// RootsDir holds the GC roots of results built in a volume.
const RootsDir = "/nix/var/nix/gcroots/nixcross"

// Root is where a build of attr for system from key (the flake's
// directory, or its reference when Nix fetches it) keeps its GC root: one
// per result, replaced by the next build of the same.
func Root(system, attr, key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("%s/%s-%s-%s", RootsDir, system, sanitize(attr), hex.EncodeToString(sum[:])[:12])
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// BuildPrelude is the shell a build runs before Nix in a cached store: it
// makes the roots directory and records the volume's last use.
const BuildPrelude = "mkdir -p " + RootsDir + " /nix/var/nixcross && touch " + LastUsedFile

// Volume is one cache volume.
type Volume struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	ImageID      string `json:"imageId"`
	ImagePresent bool   `json:"imagePresent"`
	Flake        string `json:"flake"` // the flake it serves: its directory, or its reference; empty for volumes made before per-flake stores
	// FlakeGone: the flake is a directory of this machine that is not
	// there any more, so no build will use the volume again.
	FlakeGone bool      `json:"flakeGone"`
	Size      int64     `json:"size"` // -1 when the daemon does not say
	LastUsed  time.Time `json:"lastUsed"`
	Created   string    `json:"created"`
}

// List returns every cache volume nixcross made. LastUsed is left zero:
// reading it costs a container per volume (see LastUsed).
func List(ctx context.Context, eng *engine.Engine) ([]Volume, error) {
	vols, err := eng.Volumes(ctx, engine.RoleCache)
	if err != nil {
		return nil, err
	}
	sizes := eng.VolumeSizes(ctx)
	var out []Volume
	for _, v := range vols {
		vol := Volume{Name: v.Name, Image: v.Labels[engine.LabelImage], ImageID: v.Labels[engine.LabelImageID], Flake: v.Labels[engine.LabelFlake], Size: -1, Created: v.Created}
		if s, ok := sizes[v.Name]; ok {
			vol.Size = s
		}
		if vol.ImageID != "" {
			vol.ImagePresent = eng.HasImage(ctx, vol.ImageID)
		}
		vol.FlakeGone = flakeGone(vol.Flake, v.Labels[engine.LabelFlakeHost], proc.Host())
		out = append(out, vol)
	}
	// The daemon lists volumes in no fixed order; cache ls should not.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// flakeGone reports whether flake, a directory of the machine host, is
// certainly gone: only that machine can tell (a daemon serves several
// clients, and a path missing here may be another's), and only a
// directory that does not exist counts, not one that cannot be read.
func flakeGone(flake, host, self string) bool {
	if host == "" || host != self || !filepath.IsAbs(flake) {
		return false
	}
	_, err := os.Stat(flake)
	return errors.Is(err, fs.ErrNotExist)
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
	code, err := eng.RunOnce(ctx, engine.OneShot{
		Spec: engine.ContainerSpec{
			Image:     v.ImageID,
			Cmd:       cmd,
			Labels:    engine.Labels(engine.RoleGC),
			Mounts:    []mount.Mount{{Type: mount.TypeVolume, Source: v.Name, Target: "/nix"}},
			NoNetwork: true,
		},
		Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
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

// Stale reports whether no build uses v any more: its image is gone, its
// flake's directory is gone, or it predates stores per flake (no flake
// label) and was shared by all of them, so any flake's build may have
// rewritten it.
func (v Volume) Stale() bool {
	return !v.ImagePresent || v.Flake == "" || v.FlakeGone
}

// Prune removes the stale cache volumes (see Volume.Stale), or all of
// them, in name order, and returns the names removed. A volume a running
// build uses is left alone, with a warning.
func Prune(ctx context.Context, eng *engine.Engine, all bool, rep *ui.Reporter) ([]string, error) {
	vols, err := List(ctx, eng)
	if err != nil {
		return nil, err
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
	var removed []string
	for _, v := range vols {
		if !v.Stale() && !all {
			continue
		}
		if err := eng.RemoveVolume(ctx, v.Name, false); err != nil {
			if engine.InUse(err) {
				rep.Warnf("volume %s is in use by a running build; left alone", v.Name)
				continue
			}
			return removed, err
		}
		removed = append(removed, v.Name)
	}
	return removed, nil
}
