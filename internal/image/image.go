// Package image owns the OCI images of results: an image of a result's
// verified closure on the host (Build: layers by popularity, deterministic
// tars, the config from the Nix system), its entrypoint (Entrypoint), the
// multi-arch index of a run's images (Index), and where they go: an OCI
// image layout (WriteLayout), a registry (Push) or a `docker save`
// archive for the daemon to load (WriteArchive; engine.LoadImage sends it).
package image

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/system"
)

// Spec is what an image of one result is made of.
type Spec struct {
	Closure closure.Closure
	// Dir is where a store path's files are on the host: the verified
	// export (hoststore.Store.Dir).
	Dir      func(storePath string) string
	Platform system.Platform
	// Entrypoint is the program, an absolute path under /nix/store.
	Entrypoint string
	// Output is the result's store path; its bin/ goes on PATH.
	Output string
	// Created is the image's date: the flake's lastModified, so the same
	// source gives the same digest.
	Created time.Time
	Labels  map[string]string
	// MaxLayers caps the layers (MaxLayers when 0).
	MaxLayers int
}

// Build makes the image. The layers are read from the host when their
// digests are needed, here already: a file missing from the export is an
// error now, not during a push.
func Build(s Spec) (v1.Image, error) {
	max := s.MaxLayers
	if max == 0 {
		max = MaxLayers
	}
	created := v1.Time{Time: s.Created.UTC()}
	groups := Layers(s.Closure, max)
	writers := []func(io.Writer) error{writeRoot}
	history := []string{"/nix/store and /tmp"}
	for _, group := range groups {
		writers = append(writers, func(w io.Writer) error { return writeStorePaths(w, group, s.Dir) })
		history = append(history, describe(group))
	}
	layers, err := hashLayers(writers)
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "nixcross: " + history[i]}}
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Created:      created,
		OS:           s.Platform.OS,
		Architecture: s.Platform.Architecture,
		Variant:      s.Platform.Variant,
		Config: v1.Config{
			Entrypoint: []string{s.Entrypoint},
			Env:        []string{"PATH=" + s.Output + "/bin"},
			Labels:     s.Labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	// The digest reads every layer: the work happens here, once.
	if _, err := img.Digest(); err != nil {
		return nil, err
	}
	return img, nil
}

// hashLayers makes the layers, reading (and compressing, to learn the
// digests) as many at once as there are CPUs: gzip is what takes the time.
func hashLayers(writers []func(io.Writer) error) ([]v1.Layer, error) {
	layers := make([]v1.Layer, len(writers))
	errs := make([]error, len(writers))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, write := range writers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := newStoreLayer(write)
			layers[i], errs[i] = l, err
		}()
	}
	wg.Wait()
	return layers, errors.Join(errs...)
}

// describe says what a layer holds, for the image's history.
func describe(group []string) string {
	if len(group) == 1 {
		return group[0]
	}
	names := append([]string(nil), group...)
	sort.Strings(names)
	// A history line is for reading: the first few names say enough.
	if len(names) > 3 {
		names = append(names[:3], "…")
	}
	return fmt.Sprintf("%d store paths: %s", len(group), strings.Join(names, " "))
}
