package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nar"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// Rebuild is --rebuild's verdict on one system's result.
type Rebuild struct {
	Reproducible bool `json:"reproducible"`
	// Output is the output whose second build differed ("" when
	// reproducible); Nix stops at the first.
	Output string `json:"output,omitempty"`
	// Differing lists the files of Output that differ between the two
	// builds (or that only one has), as full paths under Output.
	Differing []string `json:"differing,omitempty"`
}

// rebuild is the "rebuild" stage (--rebuild): build the derivation once
// more in the same container and compare bit for bit (Nix's --rebuild).
// A difference fails the build (exit 1) after the first build's result
// was exported, naming the files that differ.
func (r *Runner) rebuild(ctx context.Context, j job, c *buildContainer, res *Result) error {
	if !j.req.Rebuild {
		return nil
	}
	req, s := j.req, j.system
	done := r.UI.LoggedPhase(j.prefix, "rebuild "+req.Flake+"#"+req.Attr+" for "+s.String()+" and compare")
	cmd := nix.RebuildCommand(nix.Installable{Flake: j.prep.Source.Ref(req.Flake), Attr: req.Attr}, s, r.buildFlags(j))
	var log bytes.Buffer
	logw := r.UI.Lines(j.prefix, true)
	err := r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: cmd, Env: c.nixEnv, Stdout: io.Discard, Stderr: io.MultiWriter(logw, &log)})
	logw.Flush()
	if err == nil {
		done(nil)
		res.Rebuild = &Rebuild{Reproducible: true}
		return nil
	}
	if ctx.Err() != nil {
		done(err)
		return context.Cause(ctx)
	}
	output, check, ok := nix.NotDeterministic(log.String())
	if !ok {
		done(err)
		return r.classifyFailure(ctx, c, err, logw.Tail(), j)
	}
	done(nil)
	res.Rebuild = &Rebuild{Output: output}
	files, derr := r.differingFiles(ctx, c.id, output, check)
	res.Rebuild.Differing = files
	if !req.Nix.KeepFailed {
		// The second build is not a valid store path: nothing else
		// removes it from the cache volume.
		derr = errors.Join(derr, r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: []string{"rm", "-rf", check}}))
	}
	if derr != nil {
		return status.Environment(fmt.Errorf("compare the two builds of %s: %w", output, derr), "")
	}
	cause := fmt.Errorf("%s#%s for %s is not reproducible: a second build of %s differs in %s",
		req.Flake, req.Attr, s, output, strings.Join(relative(output, files), ", "))
	hint := "the derivation depends on something besides its inputs (time, randomness, the order of files, the machine)"
	if req.Nix.KeepFailed {
		hint = fmt.Sprintf("compare inside the container: diff -r %s %s", output, check)
	}
	return status.Build(cause, hint)
}

// differingFiles lists the entries that differ between output and Nix's
// second build of it at check, by comparing their NAR listings.
func (r *Runner) differingFiles(ctx context.Context, id, output, check string) ([]string, error) {
	stream, wait, err := r.Engine.ExecStream(ctx, id, engine.ExecSpec{Cmd: nix.DumpCommand([]string{output, check})})
	if err != nil {
		return nil, err
	}
	first, err := nar.List(stream)
	var second nar.Listing
	if err == nil {
		second, err = nar.List(stream)
	}
	stream.Close()
	if werr := wait(); werr != nil || err != nil {
		return nil, errors.Join(err, werr)
	}
	var files []string
	for _, p := range first.Diff(second) {
		files = append(files, path.Join(output, p))
	}
	return files, nil
}

// relative names files by their path inside output, for the message,
// made visible: the names are the build's.
func relative(output string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = ui.Visible(strings.TrimPrefix(strings.TrimPrefix(f, output), "/"))
		if out[i] == "" {
			out[i] = "the output itself"
		}
	}
	return out
}
