package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// classifyFailure turns a failed `nix build` into the error the user sees,
// with its kind (exit code) and advice, where the cause is known: Nix's
// log tail says whether emulation, the flake or the build itself failed.
func (r *Runner) classifyFailure(ctx context.Context, c *buildContainer, err error, tail string, j job) error {
	req, s, src := j.req, j.system, j.prep.Source
	var exit *engine.ExitError
	if !errors.As(err, &exit) {
		return status.Environment(fmt.Errorf("run nix build: %w", err), "")
	}
	adv := nix.Explain(tail)
	cause := fmt.Errorf("nix build of %s#%s for %s failed (exit %d)", req.Flake, req.Attr, s, exit.Code)
	if adv == nil {
		return status.Build(cause, keptHint(c))
	}
	switch adv.Kind {
	case nix.AdviceEmulation, nix.AdviceExec, nix.AdviceCredentials, nix.AdviceUnreachable:
		return status.Environment(cause, adv.Message)
	case nix.AdviceNixVersion:
		return status.Build(cause, fmt.Sprintf("the flake needs Nix %s or later to evaluate and %s has Nix %s: drop --image to use the built-in builder image, or use an image with a newer Nix", adv.Path, j.prep.Image.Ref, c.nix))
	case nix.AdviceSandbox:
		return status.Environment(fmt.Errorf("%w: Nix could not set up its build sandbox in the container (%s), so nothing was built", cause, adv.Path), adv.Message)
	case nix.AdviceHostKey:
		host := "a --builders machine"
		if adv.Path != "" {
			host = adv.Path
		}
		return status.Environment(fmt.Errorf("%w: ssh refused %s: its host key is not in %s", cause, host, knownHostsName(req)), adv.Message)
	case nix.AdviceUntracked:
		add, ok := src.UntrackedFile(adv.Path)
		if !ok {
			return status.Build(cause, keptHint(c))
		}
		return status.Build(cause, "Nix only sees files git tracks: `git -C "+src.Top+" add "+add+"` and build again")
	case nix.AdviceNoSpace:
		return status.Space(fmt.Errorf("%w: no space left on the Docker daemon's disk", cause), adv.Message)
	case nix.AdviceAttribute:
		msg := fmt.Sprintf("%s#%s has no packages.%s.%s", req.Flake, req.Attr, s, req.Attr)
		names, err := r.offeredAttrs(ctx, c.id, j)
		return status.Usage(errors.New(msg), offeredHint(s, names, err))
	}
	return status.Build(cause, adv.Message)
}

// offeredAttrs lists packages.<s> of the flake, for the advice under a
// missing attribute. It returns errNoPackages when the flake has no
// packages.<s> at all, another error when it could not find out.
func (r *Runner) offeredAttrs(ctx context.Context, id string, j job) ([]string, error) {
	s := j.system
	var out, stderr bytes.Buffer
	cmd := append([]string{"nix", "eval", "--json", "--no-write-lock-file"}, nix.OverrideArgs(j.req.Nix.Overrides)...)
	cmd = append(cmd, j.prep.Source.Ref(j.req.Flake)+"#packages."+s.String(), "--apply", "builtins.attrNames")
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Stdout: &out, Stderr: &stderr}); err != nil {
		var exit *engine.ExitError
		if errors.As(err, &exit) && strings.Contains(stderr.String(), "does not provide attribute 'packages."+s.String()+"'") {
			return nil, errNoPackages
		}
		return nil, fmt.Errorf("list packages.%s: %w", s, err)
	}
	var names []string
	if err := json.Unmarshal(out.Bytes(), &names); err != nil {
		return nil, fmt.Errorf("list packages.%s: %w", s, err)
	}
	if len(names) == 0 {
		return nil, errNoPackages
	}
	return names, nil
}

// errNoPackages is a flake without packages for the system.
var errNoPackages = errors.New("no packages")

// offeredHint is the advice under a missing attribute: what the flake
// offers, that it offers nothing, or, when that could not be found out,
// how to look.
func offeredHint(s system.System, names []string, err error) string {
	switch {
	case errors.Is(err, errNoPackages):
		return "the flake offers no packages for " + s.String()
	case err != nil:
		return "see what the flake offers with `nix flake show` (listing its packages failed: " + err.Error() + ")"
	default:
		return "packages for " + s.String() + " in this flake: " + strings.Join(names, ", ")
	}
}

// keptHint is the advice under a failed derivation when --keep-failed
// kept its container: where the build directory is, rather than the flag
// the user already gave; "" (the kind's advice) otherwise.
func keptHint(c *buildContainer) string {
	if c.keptAs == "" {
		return ""
	}
	return "the failing derivation's log is above; its build directory is in the kept container " + c.keptAs + " (the command above enters it)"
}
