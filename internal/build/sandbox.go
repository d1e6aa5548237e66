package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
)

// sandboxPrivileges gives spec what Nix's sandbox needs on Docker, and no
// more, measured (README: "What each mode needs"): Nix as root without
// build users enters a user namespace, which Docker's default seccomp
// profile refuses (seccomp=unconfined), and mounts a fresh /proc in it,
// which the kernel refuses while Docker masks paths of the container's
// /proc (systempaths=unconfined). No capability is added.
func sandboxPrivileges(spec *engine.ContainerSpec) {
	spec.SecurityOpt = []string{"seccomp=unconfined"}
	spec.UnmaskSystemPaths = true
}

// sandboxProbe enters the namespaces Nix's sandbox sets up (user, mount,
// PID, network, IPC, UTS, and a fresh /proc), as root mapped to the
// container's root, then does nothing: it fails where Nix's sandbox would.
var sandboxProbe = []string{"unshare", "--user", "--map-root-user", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--mount-proc", "true"}

// SandboxCheck tells whether --sandbox can work on eng's daemon: a
// throwaway container of image (which needs unshare(1), as the builder
// image has) with the sandbox's privileges enters its namespaces. When it
// cannot, why says what refused; err is for a check that could not run.
func SandboxCheck(ctx context.Context, eng *engine.Engine, image string) (ok bool, why string, err error) {
	spec := engine.ContainerSpec{Image: image, Cmd: sandboxProbe, NoNetwork: true, ReadOnly: true, Labels: engine.Labels(engine.RoleProbe)}
	sandboxPrivileges(&spec)
	var stderr bytes.Buffer
	code, err := eng.RunOnce(ctx, engine.OneShot{Spec: spec, Stdout: io.Discard, Stderr: &stderr})
	switch step := engine.FailedStep(err); {
	case (step == engine.StepCreate || step == engine.StepStart) && engine.Refused(err):
		return false, "the daemon refused the container: " + err.Error(), nil
	case err != nil:
		return false, "", err
	case code != 0:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = fmt.Sprintf("exit %d", code)
		}
		return false, "the kernel refused the sandbox's namespaces (" + msg + ")", nil
	}
	return true, "", nil
}
