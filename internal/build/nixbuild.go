package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// exitMountInvisible is the build script's status when the mounted flake
// is not there.
const exitMountInvisible = 97

// nixBuild is the "build" stage: run `nix build` and the closure query in
// one exec, streaming Nix's log, and return their stdout (see
// queryClosure). A failure is classified (see classifyFailure); with
// --keep-failed the container is kept and renamed for inspection.
func (r *Runner) nixBuild(ctx context.Context, j job, c *buildContainer) ([]byte, error) {
	req, s, src := j.req, j.system, j.prep.Source
	done := r.UI.LoggedPhase(j.prefix, "build "+req.Flake+"#"+req.Attr+" for "+s.String())
	gcRoot, prelude := "", ""
	if c.mode == SourceMount {
		prelude = fmt.Sprintf(`%s || exit %d`, mountCheck(j.prep), exitMountInvisible)
	}
	if j.prep.Volume != "" {
		key := src.HostDir
		if !src.Local {
			key = req.Flake
		}
		gcRoot = cache.Root(s.String(), req.Attr, key)
		prelude += "\n" + cache.BuildPrelude
	}
	flags := req.Nix
	// The user's --option comes last, so it can override what nixcross sets.
	flags.Options = append(containerSettings(j.prep.Image, r.Engine.System), flags.Options...)
	flags.Substituters, flags.TrustedKeys = substituterURLs(req), req.TrustedKeys
	cmd := nix.BuildScript(prelude, nix.BuildCommand(nix.Installable{Flake: src.Ref(req.Flake), Attr: req.Attr}, s, gcRoot, flags))
	env, err := r.remoteBuilders(ctx, c.id, req)
	c.sshEnv = env
	if err == nil {
		var cenv []string
		cenv, err = r.credentialEnv(ctx, c.id, req.Forward, j.prep.agent != "")
		env = append(env, cenv...)
	}
	if err != nil {
		done(err)
		return nil, err
	}
	var stdout bytes.Buffer
	logw := r.UI.Lines(j.prefix, true)
	lockNote := &noteWatch{note: []byte(lockChangedNote)}
	t0 := time.Now()
	err = r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: cmd, Env: env, Stdout: &stdout, Stderr: io.MultiWriter(logw, lockNote)})
	r.trace("nix build + closure query", t0)
	logw.Flush()
	done(err)
	if err == nil {
		if nix.RefusedSubstitute(logw.Tail()) {
			// Nix built what it could not substitute: say why, it is no error.
			r.UI.Warnf("%s%s", j.prefix, nix.UntrustedMessage)
		}
		if lockNote.seen {
			if err := r.settleLock(ctx, c.id, req, j.prep, env, j.prefix); err != nil {
				return nil, err
			}
		}
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	var exit *engine.ExitError
	if c.mode == SourceMount && errors.As(err, &exit) && exit.Code == exitMountInvisible {
		return nil, status.Environment(fmt.Errorf("%w: %s is missing or empty in the container of the daemon at %s", errMountInvisible, src.Top, r.Engine.Endpoint.Host), mountHint)
	}
	if req.Nix.KeepFailed {
		r.keepFailed(ctx, j, c)
	}
	return nil, r.classifyFailure(ctx, c, err, logw.Tail(), j)
}

// keepFailed leaves the failed build's container for inspection under a
// name that tells later runs' sweep to leave it alone.
func (r *Runner) keepFailed(ctx context.Context, j job, c *buildContainer) {
	kept := engine.KeptPrefix + j.system.String() + "-" + randomSuffix()
	if err := r.Engine.RenameContainer(ctx, c.id, kept); err != nil {
		kept = c.id[:12]
	}
	c.keptAs = kept
	r.UI.Printf("%skept the failed build's container: docker exec -it %s bash   (Nix's note above names the build directory; remove it with `nixcross clean`)", j.prefix, kept)
}

// builderKeyPath is where the remote builders' key lives in the build
// container: copied in through the API for this run only (so it works with
// remote daemons too), readable by root alone, gone with the container,
// never in an image or a log.
const builderKeyPath = "/run/nixcross/ssh/builders-key"

// remoteBuilders installs the --builders-ssh-key and returns the
// environment that makes Nix's ssh use it (for --builders and for ssh://
// and ssh-ng:// --push stores).
func (r *Runner) remoteBuilders(ctx context.Context, id string, req Request) ([]string, error) {
	if req.BuildersSSHKey == "" {
		return nil, nil
	}
	key, err := os.ReadFile(req.BuildersSSHKey)
	if err != nil {
		return nil, status.Usage(fmt.Errorf("read --builders-ssh-key: %w", err), "")
	}
	if err := r.installSecret(ctx, id, builderKeyPath, key); err != nil {
		return nil, err
	}
	return []string{"NIX_SSHOPTS=-i " + builderKeyPath + " -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/run/nixcross/ssh/known_hosts"}, nil
}

// installSecret writes a key into the build container at path for this
// run only: through the API (so remote daemons work too), in a directory
// and a file only root may read, gone with the container, never in an
// image or a log.
func (r *Runner) installSecret(ctx context.Context, id, path string, data []byte) error {
	dir, name := filepath.Split(path)
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"mkdir", "-p", "-m", "0700", dir}}); err != nil {
		return status.Environment(fmt.Errorf("prepare %s: %w", dir, err), "")
	}
	if err := r.Engine.PutFile(ctx, id, dir, name, data, 0o400); err != nil {
		return status.Environment(err, "")
	}
	return nil
}
