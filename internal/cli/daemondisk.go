package cli

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
)

// daemonDiskMin is the free space on the daemon's side below which doctor
// counts a problem: a first build of a real flake's closure easily needs
// that much in its cache volume.
const daemonDiskMin = 2 << 30

// daemonFree measures the free space where the daemon keeps containers and
// volumes (its data root, Docker Desktop's VM disk), by `df` in a
// throwaway container of image: the client cannot see that disk.
func daemonFree(ctx context.Context, eng *engine.Engine, image string) (int64, error) {
	var out bytes.Buffer
	spec := engine.ContainerSpec{Image: image, Cmd: []string{"df", "-Pk", "/"}, NoNetwork: true, ReadOnly: true, Labels: engine.Labels(engine.RoleProbe)}
	code, err := eng.RunOnce(ctx, engine.OneShot{Spec: spec, Stdout: &out})
	if err != nil {
		return 0, err
	}
	if code != 0 {
		return 0, fmt.Errorf("df exited %d", code)
	}
	return parseDFAvail(out.String())
}

// parseDFAvail reads the available bytes from `df -Pk` (POSIX format:
// a header, then "fs blocks used available capacity mount").
func parseDFAvail(out string) (int64, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return 0, fmt.Errorf("df printed %q", out)
	}
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 {
		return 0, fmt.Errorf("df printed %q", out)
	}
	kb, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("df printed %q", out)
	}
	return kb << 10, nil
}
