package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// BuilderRepo is the repository name of images built from Dockerfile.nix.
const BuilderRepo = "nixcross-builder"

// Image is a builder image ready to run.
type Image struct {
	Ref string // what the user or the tool calls it
	ID  string // content ID (sha256:…), which keys the cache volume
	// System is the platform the image's programs are for (zero when
	// Docker reports one nixcross does not know). An image for another
	// CPU than the daemon's runs Nix itself under emulation.
	System system.System
}

// imageOf describes an inspected image.
func imageOf(ref string, img client.ImageInspectResult) Image {
	s, _ := system.FromDocker(img.Os, img.Architecture)
	return Image{Ref: ref, ID: img.ID, System: s}
}

// BuilderTag is the tag for an embedded Dockerfile with a given base image:
// a hash of both, so an edited file (or another base) gives a new image and
// an unchanged one is never rebuilt.
func BuilderTag(dockerfile []byte, baseImage string) string {
	h := sha256.New()
	h.Write(dockerfile)
	h.Write([]byte{0})
	h.Write([]byte(baseImage))
	return BuilderRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16]
}

// EnsureBuilderImage returns the image built from dockerfile, building it
// through the API when it is missing. onBuild, when not nil, is told a
// build starts and returns where its output goes (nil: nowhere).
func (e *Engine) EnsureBuilderImage(ctx context.Context, dockerfile []byte, baseImage string, onBuild func(ref string) io.Writer) (Image, error) {
	ref := BuilderTag(dockerfile, baseImage)
	if img, err := e.API.ImageInspect(ctx, ref); err == nil {
		return imageOf(ref, img), nil
	} else if !cerrdefs.IsNotFound(err) {
		return Image{}, status.Environment(fmt.Errorf("inspect image %s: %w", ref, err), "")
	}
	var log io.Writer
	if onBuild != nil {
		log = onBuild(ref)
	}
	if err := e.buildImage(ctx, ref, dockerfile, baseImage, log); err != nil {
		return Image{}, err
	}
	img, err := e.API.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, status.Environment(fmt.Errorf("inspect built image %s: %w", ref, err), "")
	}
	return imageOf(ref, img), nil
}

// UserImage checks an image the user named with --image is present.
func (e *Engine) UserImage(ctx context.Context, ref string) (Image, error) {
	img, err := e.API.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Image{}, status.Environment(fmt.Errorf("image %s is not on the Docker host", ref),
				"pull or load it first (`docker pull "+ref+"`), or drop --image to use the built-in builder image")
		}
		return Image{}, status.Environment(fmt.Errorf("inspect image %s: %w", ref, err), "")
	}
	return imageOf(ref, img), nil
}

func (e *Engine) buildImage(ctx context.Context, ref string, dockerfile []byte, baseImage string, log io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return err
	}
	tw.Write(dockerfile)
	tw.Close()
	res, err := e.API.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  "Dockerfile",
		BuildArgs:   map[string]*string{"BASE_IMAGE": &baseImage},
		Labels:      Labels(RoleImage, LabelHash, strings.TrimPrefix(ref, BuilderRepo+":")),
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return status.Environment(fmt.Errorf("build image %s: %w", ref, err), "")
	}
	defer res.Body.Close()
	if err := readBuildStream(res.Body, log); err != nil {
		hint := "check that the base image " + baseImage + " exists on the Docker host (scripts/provision.sh creates it offline) and that the host reaches Debian's package mirror"
		return status.Environment(fmt.Errorf("build image %s: %w", ref, err), hint)
	}
	return nil
}

// readBuildStream copies the classic builder's JSON message stream to log
// as plain lines and returns the first error message in it.
func readBuildStream(r io.Reader, log io.Writer) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if m.Stream != "" {
			if log != nil {
				io.WriteString(log, m.Stream)
			}
			tail = append(tail, strings.TrimRight(m.Stream, "\n"))
			if len(tail) > 15 {
				tail = tail[1:]
			}
		}
		if m.Error != "" {
			if log == nil || log == io.Discard {
				return fmt.Errorf("%s\n%s", m.Error, strings.Join(tail, "\n"))
			}
			return errors.New(m.Error)
		}
	}
}

// HasImage reports whether the daemon has the image ref (a name or an ID).
func (e *Engine) HasImage(ctx context.Context, ref string) bool {
	_, err := e.API.ImageInspect(ctx, ref)
	return err == nil
}

// ImageSummary is an image nixcross built.
type ImageSummary struct {
	ID   string
	Tags []string
}

// Images lists the images nixcross built.
func (e *Engine) Images(ctx context.Context) ([]ImageSummary, error) {
	res, err := e.API.ImageList(ctx, client.ImageListOptions{Filters: managedFilter(RoleImage)})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]ImageSummary, 0, len(res.Items))
	for _, img := range res.Items {
		out = append(out, ImageSummary{ID: img.ID, Tags: img.RepoTags})
	}
	return out, nil
}

// RemoveImage force-removes an image and its untagged parents.
func (e *Engine) RemoveImage(ctx context.Context, img ImageSummary) error {
	if _, err := e.API.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		return fmt.Errorf("remove image %s: %w", strings.Join(img.Tags, ","), err)
	}
	return nil
}
