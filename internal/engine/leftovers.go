package engine

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Container is a container nixcross made, with what decides whether it is
// a leftover: the run that made it, and whether the user asked to keep it.
type Container struct {
	ID     string
	Name   string // without the leading slash; several joined by ","
	Role   string
	State  string // Docker's: "running", "exited", ...
	Labels map[string]string
	Run    RunState
	// Kept is a failed build's container kept by --keep-failed.
	Kept bool
	// Installed is the emulation of `nixcross binfmt install`.
	Installed bool
}

// Stale reports whether c is a leftover of a run that is gone (killed
// outright, crashed), which any later run may remove: not kept, not the
// installed emulation, and of a dead run on this machine. `nixcross clean`
// removes more (see Containers); the rule for what is stale lives here only.
func (c Container) Stale() bool {
	return c.Run == RunDead && !c.Kept && !c.Installed
}

// RemoveStale removes the stale containers (see Container.Stale) of earlier
// runs: build, shell and probe containers and per-run emulation holders.
// It is best effort: what cannot be listed or removed now, a later run will.
func (e *Engine) RemoveStale(ctx context.Context) {
	containers, err := e.Containers(ctx, "")
	if err != nil {
		return
	}
	for _, c := range containers {
		if c.Stale() {
			e.RemoveContainer(ctx, c.ID)
		}
	}
}

// Containers lists the containers nixcross made, optionally of one role and
// with more "key=value" labels, stopped ones included.
func (e *Engine) Containers(ctx context.Context, role string, labels ...string) ([]Container, error) {
	res, err := e.API.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managedFilter(role, labels...)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Container, 0, len(res.Items))
	for _, c := range res.Items {
		kept := false
		for _, n := range c.Names {
			if strings.HasPrefix(strings.TrimPrefix(n, "/"), KeptPrefix) {
				kept = true
			}
		}
		out = append(out, Container{
			ID:        c.ID,
			Name:      strings.TrimPrefix(strings.Join(c.Names, ","), "/"),
			Role:      c.Labels[LabelRole],
			State:     string(c.State),
			Labels:    c.Labels,
			Run:       runState(c.Labels),
			Kept:      kept,
			Installed: c.Labels[LabelBinfmt] == BinfmtInstalled,
		})
	}
	return out, nil
}

// ContainerLabels returns the labels of the container named name; found is
// false when there is none.
func (e *Engine) ContainerLabels(ctx context.Context, name string) (labels map[string]string, found bool, err error) {
	res, err := e.API.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inspect %s: %w", name, err)
	}
	if res.Container.Config != nil {
		labels = res.Container.Config.Labels
	}
	return labels, true, nil
}

// RenameContainer gives a container a new name, also after ctx is
// cancelled (it runs in teardown).
func (e *Engine) RenameContainer(ctx context.Context, id, name string) error {
	if _, err := e.API.ContainerRename(context.WithoutCancel(ctx), id, client.ContainerRenameOptions{NewName: name}); err != nil {
		return fmt.Errorf("rename container %s: %w", short(id), err)
	}
	return nil
}
