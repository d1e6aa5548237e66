package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/status"
)

// ModelDefault is Result.QEMUCPU when QEMU emulates its own default model.
const ModelDefault = "default"

// chooseModel returns the QEMU CPU model nixcross's handler runs j's
// system with in container c. A --qemu-cpu model is written where the
// handler's wrapper reads it (binfmt.OverridePath), in the container and,
// through extra-sandbox-paths, in Nix's sandbox: the registration is the
// host's, shared with every build, so the choice of one build lives in its
// own container.
func (r *Runner) chooseModel(ctx context.Context, j job, c *buildContainer) (string, error) {
	m := binfmt.DefaultModel(j.system)
	if o, ok := j.req.QEMUCPU[j.system.String()]; ok {
		path, ok := binfmt.OverridePath(j.system)
		if !ok {
			// parseBuildRequest refuses it; a Request made elsewhere may not.
			return "", status.Usage(fmt.Errorf("--qemu-cpu %s: nixcross runs QEMU's default CPU model for %s", j.system, j.system), "")
		}
		if err := r.Engine.PutFile(ctx, c.id, "/", strings.TrimPrefix(path, "/"), []byte(o+"\n"), 0o644); err != nil {
			return "", status.Environment(fmt.Errorf("write the QEMU CPU model to %s: %w", path, err), "")
		}
		m = o
	}
	if m == "" {
		m = ModelDefault
	}
	return m, nil
}
