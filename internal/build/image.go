package build

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/image"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// Image is one result's OCI image, as --json reports it.
type Image struct {
	Digest   string `json:"digest"`
	Platform string `json:"platform"`
	// Entrypoint is the program the image runs.
	Entrypoint string `json:"entrypoint"`
	// Layers counts the image's layers, the root one included.
	Layers int `json:"layers"`
	// Loaded is the name --load gave it in the daemon.
	Loaded string `json:"loaded,omitempty"`
}

// image is the "image" stage, with --tag: the result's image, made from
// the verified export on the host (after check and provenance, whose
// lastModified dates it). The images go to the daemon, a registry or a
// layout once every system has built (Runner.Ship).
func (r *Runner) image(ctx context.Context, j job, c *buildContainer, b built, out exported, res *Result) error {
	if !j.req.Ship.Wanted() {
		return nil
	}
	platform, ok := j.system.Platform()
	if !ok {
		return status.Usage(fmt.Errorf("%s has no OCI platform: an image runs Linux", j.system), "")
	}
	output := b.outputs[0]
	mainProgram := ""
	if j.req.Ship.Entrypoint == "" {
		mainProgram = r.mainProgram(ctx, j, c)
	}
	entry, err := image.Entrypoint(output, out.store.Dir, mainProgram, j.req.Ship.Entrypoint)
	if err != nil {
		return err
	}
	spec := image.Spec{Closure: b.closure, Dir: out.store.Dir, Platform: platform, Entrypoint: entry, Output: output}
	if p := res.Provenance; p != nil {
		spec.Created = time.Unix(p.Flake.LastModified, 0)
		spec.Labels = sourceLabels(p.Flake)
	}
	done := r.UI.Phase(j.prefix, "image "+platform.String())
	img, err := image.Build(spec)
	done(err)
	if err != nil {
		return status.Export(err, "")
	}
	digest, err := img.Digest()
	if err != nil {
		return status.Export(err, "")
	}
	layers, err := img.Layers()
	if err != nil {
		return status.Export(err, "")
	}
	res.image, res.platform = img, platform
	res.Image = &Image{Digest: digest.String(), Platform: platform.String(), Entrypoint: entry, Layers: len(layers)}
	return nil
}

// mainProgram is the output's meta.mainProgram, "" when it has none. Nix
// failing to say is a warning: the image can still take the only program.
func (r *Runner) mainProgram(ctx context.Context, j job, c *buildContainer) string {
	var stdout, stderr bytes.Buffer
	cmd := nix.MainProgramCommand(nix.Installable{Flake: j.prep.Source.Ref(j.req.Flake), Attr: j.req.Attr}, j.system, r.buildFlags(j))
	err := r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: cmd, Env: c.nixEnv, Stdout: &stdout, Stderr: &stderr})
	name := ""
	if err == nil {
		name, err = nix.ParseMainProgram(stdout.Bytes())
	}
	if err != nil {
		r.UI.Warnf("%snix eval of meta.mainProgram failed (%s); the image runs the output's only program in bin/", j.prefix, ui.Visible(strings.TrimSpace(lastLine(stderr.String(), err))))
		return ""
	}
	return name
}

// lastLine is the last line Nix printed, or err when it printed nothing.
func lastLine(s string, err error) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return err.Error()
	}
	return s[strings.LastIndex(s, "\n")+1:]
}

// sourceLabels are the image's org.opencontainers.image labels from the
// locked flake: source when the flake lives somewhere others can fetch
// (a checkout's path on this machine means nothing elsewhere), revision
// when Nix locked one.
func sourceLabels(f nix.Locked) map[string]string {
	labels := map[string]string{}
	if f.Rev != "" {
		labels["org.opencontainers.image.revision"] = f.Rev
	}
	attr := func(k string) string { s, _ := f.Attrs[k].(string); return s }
	switch attr("type") {
	case "github":
		labels["org.opencontainers.image.source"] = "https://github.com/" + attr("owner") + "/" + attr("repo")
	case "gitlab":
		labels["org.opencontainers.image.source"] = "https://gitlab.com/" + attr("owner") + "/" + attr("repo")
	case "git", "tarball":
		if u := attr("url"); strings.HasPrefix(u, "https://") {
			labels["org.opencontainers.image.source"] = u
		}
	}
	if len(labels) == 0 {
		return nil
	}
	return labels
}
