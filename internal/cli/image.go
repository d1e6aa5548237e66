package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/image"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// imageOptions are the build command's image flags: --tag makes an OCI
// image of each result; the others say where the images go.
type imageOptions struct {
	tag        string
	entrypoint string
	load       bool
	push       bool
	ociOut     string
}

func addImageFlags(f *pflag.FlagSet, o *imageOptions) {
	f.StringVar(&o.tag, "tag", "", "make an OCI image of each result named `REF` (e.g. registry.example.org/app:1): its closure under /nix/store, the program as entrypoint")
	f.StringVar(&o.entrypoint, "entrypoint", "", "the program the image runs, `bin/NAME` inside the output (default: meta.mainProgram, else the only program in bin/)")
	f.BoolVar(&o.load, "load", false, "load the image into the Docker daemon as REF (several systems: REF with the system appended to its tag)")
	f.BoolVar(&o.push, "push-image", false, "push REF as one multi-arch index to its registry, with Docker's credentials (plain HTTP only to localhost)")
	f.StringVar(&o.ociOut, "oci-out", "", "write the multi-arch index into the OCI image layout `DIR`, named by REF's tag")
}

// parseShip validates the image flags; no Docker, no registry.
func parseShip(o imageOptions) (build.Ship, error) {
	var s build.Ship
	if o.tag == "" {
		for flag, set := range map[string]bool{"--entrypoint": o.entrypoint != "", "--load": o.load, "--push-image": o.push, "--oci-out": o.ociOut != ""} {
			if set {
				return s, status.Usage(fmt.Errorf("%s needs --tag REF: the name of the image", flag), "")
			}
		}
		return s, nil
	}
	t, err := image.ParseTag(o.tag)
	if err != nil {
		return s, status.Usage(fmt.Errorf("--tag %s: %w", ui.Visible(o.tag), err), "give a repository and a tag, such as registry.example.org/app:1")
	}
	s = build.Ship{Tag: t, Ref: o.tag, Entrypoint: o.entrypoint, Load: o.load, Push: o.push}
	if o.ociOut != "" {
		if s.LayoutDir, err = layoutDir(o.ociOut); err != nil {
			return s, err
		}
	}
	return s, nil
}

// layoutDir checks --oci-out: a new directory, an empty one, or an OCI
// image layout (to which the index is added); anything else is the user's.
func layoutDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", status.Usage(fmt.Errorf("--oci-out %s: %w", dir, err), "")
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, nil
	case err != nil:
		return "", status.Usage(fmt.Errorf("--oci-out %s: %w", dir, err), "")
	case len(entries) == 0:
		return abs, nil
	}
	if _, err := os.Stat(filepath.Join(abs, "oci-layout")); err != nil {
		return "", status.Usage(fmt.Errorf("--oci-out %s is a directory with files and not an OCI image layout", dir), "choose a new or empty directory")
	}
	return abs, nil
}
