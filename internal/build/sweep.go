package build

import "context"

// sweepLeftovers removes containers of earlier runs on this machine whose
// process is gone (killed outright, crashed): build, shell and probe
// containers and per-run emulation holders. What counts as stale is
// engine.Container.Stale, the rule `nixcross clean` builds on too.
func (r *Runner) sweepLeftovers(ctx context.Context) {
	containers, err := r.Engine.Containers(ctx, "")
	if err != nil {
		return
	}
	for _, c := range containers {
		if c.Stale() {
			r.Engine.RemoveContainer(ctx, c.ID)
		}
	}
}
