package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	phase := "build " + req.Flake + "#" + req.Attr + " for " + s.String()
	done := r.UI.LoggedPhase(j.prefix, phase)
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
	cmd := nix.BuildScript(prelude, nix.BuildCommand(nix.Installable{Flake: src.Ref(req.Flake), Attr: req.Attr}, s, gcRoot, r.buildFlags(j)))
	env, err := r.remoteBuilders(ctx, c.id, req)
	if err == nil {
		var cenv []string
		cenv, err = r.credentialEnv(ctx, c.id, req, j.prep)
		env = append(env, cenv...)
	}
	c.nixEnv = env
	if err != nil {
		done(err)
		return nil, err
	}
	var stdout bytes.Buffer
	logw := r.UI.Lines(j.prefix, true)
	var watch logWatch
	logw.OnLine = func(line string) {
		if watch.see(line) {
			r.UI.Detail(j.prefix+phase, fmt.Sprintf("%d/%d derivations", watch.started, watch.derivations))
		}
	}
	t0 := time.Now()
	err = r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: cmd, Env: env, Stdout: &stdout, Stderr: logw})
	r.trace("nix build + closure query", t0)
	logw.Flush()
	if err == nil && req.Builders != "" && watch.refused {
		// Nix builds locally when every builder fails (2.26 even with
		// --max-jobs 0): a refused host must not pass unnoticed.
		err = status.Environment(fmt.Errorf("ssh refused the --builders host %s: its host key is not in %s (Nix built locally instead)", watch.host, knownHostsName(req)), nix.Explain(watch.refusal).Message)
		done(err)
		return nil, err
	}
	done(err)
	if err == nil {
		c.builtOn = watch.remote
		if nix.RefusedSubstitute(logw.Tail()) {
			// Nix built what it could not substitute: say why, it is no error.
			r.UI.Warnf("%s%s", j.prefix, nix.UntrustedMessage)
		}
		if watch.lockChanged {
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
	// A connection the engine saw break is classified already (KindDaemon).
	end := ending{Ending: engine.Ending{Running: true}}
	if status.KindOf(err) != status.KindDaemon {
		end = r.endOf(ctx, j, c, err, logw.Tail())
	} else {
		end.DaemonDown = true
	}
	if req.Nix.KeepFailed {
		r.keepFailed(ctx, j, c, end)
	}
	if end.err != nil {
		return nil, end.err
	}
	return nil, r.classifyFailure(ctx, c, err, logw.Tail(), j)
}

// logWatch follows the build's log line by line, as the log writer
// splits it: whether Nix had to change the flake's lock, and whether ssh
// refused a remote builder's host key.
type logWatch struct {
	lockChanged bool
	refused     bool
	host        string
	refusal     string // the line that says so
	// remote are the machines Nix built a derivation on, in order.
	remote []string
	// derivations Nix said it will build, started how many of them so far.
	derivations, started int
}

// reWillBuild is Nix's count of what it will build.
var reWillBuild = regexp.MustCompile(`^these (\d+) derivations will be built:|^this derivation will be built:`)

// reBuiltOn is Nix's line for a derivation a remote builder builds.
var reBuiltOn = regexp.MustCompile(`^building '[^']+' on '([^']+)'`)

// see reads one line, and reports whether the build's progress changed.
func (w *logWatch) see(line string) (progress bool) {
	if m := reWillBuild.FindStringSubmatch(line); m != nil {
		w.derivations, progress = 1, true
		if m[1] != "" {
			w.derivations, _ = strconv.Atoi(m[1])
		}
	} else if w.derivations > 0 && strings.HasPrefix(line, "building '") {
		w.started, progress = w.started+1, true
	}
	if !w.lockChanged && strings.Contains(line, lockChangedNote) {
		w.lockChanged = true
	}
	if m := reBuiltOn.FindStringSubmatch(strings.TrimSpace(line)); m != nil && !slices.Contains(w.remote, m[1]) {
		w.remote = append(w.remote, m[1])
	}
	if w.refused || !strings.Contains(line, "ost key") {
		return progress
	}
	if adv := nix.Explain(line); adv != nil && adv.Kind == nix.AdviceHostKey {
		w.refused, w.refusal, w.host = true, line, adv.Path
		if w.host == "" {
			w.host = "(named in the log above)"
		}
	}
	return progress
}

// buildFlags are the user's flags for `nix build` with the settings every
// build in this container needs before them: the user's --option comes
// last, so it can override what nixcross sets.
func (r *Runner) buildFlags(j job) nix.BuildFlags {
	flags := j.req.Nix
	flags.Options = append(containerSettings(j.prep.Image, r.Engine.System), flags.Options...)
	flags.Substituters, flags.TrustedKeys = substituterURLs(j.req, r.Engine.Endpoint.Local()), j.req.TrustedKeys
	return flags
}

// keepFailed leaves the failed build's container for inspection under a
// name that tells later runs' sweep to leave it alone: what is left of it
// when it was stopped, nothing when it is gone.
func (r *Runner) keepFailed(ctx context.Context, j job, c *buildContainer, end ending) {
	if !end.keepable() {
		r.UI.Warnf("%s--keep-failed: there is no container left to keep", j.prefix)
		return
	}
	// The container is on this run's daemon, which may not be the one
	// the user's shell reaches (a fleet host, --host).
	docker := "docker" + r.Engine.Endpoint.ShellFlags
	inspect := docker + " exec -it %s bash"
	if !end.Running {
		// Its secrets went with it: a tmpfs does not outlive the stop.
		inspect = docker + " start %[1]s && " + docker + " exec -it %[1]s bash"
	} else if err := r.dropSecrets(ctx, c.id); err != nil {
		// A container holding a key is not left behind.
		r.UI.Warnf("%snot keeping the failed build's container: removing the keys from it failed: %v", j.prefix, err)
		return
	}
	kept := engine.KeptPrefix + j.system.String() + "-" + randomSuffix()
	if err := r.Engine.RenameContainer(ctx, c.id, kept); err != nil {
		kept = c.id[:12]
	}
	c.keptAs = kept
	r.UI.Printf("%skept the failed build's container: %s   (Nix's note above names the build directory; remove it with `nixcross%s clean`)", j.prefix, fmt.Sprintf(inspect, kept), r.Engine.Endpoint.ShellFlags)
}

// secretsDir is where the remote builders' key and known hosts live in
// the build container: a tmpfs (see containerSpec), filled through an exec
// for this run only (so it works with remote daemons too), readable by
// root alone, emptied before --keep-failed keeps the container, never in
// an image, a layer or a log.
const secretsDir = "/run/nixcross"

const (
	builderKeyPath  = secretsDir + "/builders-key"
	knownHostsPath  = secretsDir + "/known_hosts"
	secretsTmpfsMax = 1 << 20
)

// remoteBuilders installs --builders-ssh-key and the known hosts and
// returns the environment that makes Nix's ssh use them (for --builders and
// for ssh:// and ssh-ng:// --push stores), refusing any host whose key is
// not known (StrictHostKeyChecking=yes).
func (r *Runner) remoteBuilders(ctx context.Context, id string, req Request) ([]string, error) {
	if req.Builders == "" && !pushesTo(req.Push, "ssh", "ssh-ng") {
		return nil, nil
	}
	var known []byte
	if req.BuildersKnownHosts != "" {
		var err error
		if known, err = os.ReadFile(req.BuildersKnownHosts); err != nil {
			return nil, status.Usage(fmt.Errorf("read known hosts: %w", err), "")
		}
	}
	opts := "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + knownHostsPath + " -o GlobalKnownHostsFile=/dev/null"
	if err := r.installSecret(ctx, id, knownHostsPath, known); err != nil {
		return nil, err
	}
	if req.BuildersSSHKey != "" {
		key, err := os.ReadFile(req.BuildersSSHKey)
		if err != nil {
			return nil, status.Usage(fmt.Errorf("read --builders-ssh-key: %w", err), "")
		}
		if err := r.installSecret(ctx, id, builderKeyPath, key); err != nil {
			return nil, err
		}
		opts = "-i " + builderKeyPath + " " + opts
	}
	return []string{"NIX_SSHOPTS=" + opts}, nil
}

// dropSecrets empties the secrets tmpfs, before a container is kept.
func (r *Runner) dropSecrets(ctx context.Context, id string) error {
	return r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", `rm -rf "$1"/* "$1"/.[!.]*`, "drop-secrets", secretsDir}})
}

// knownHostsName says which known hosts the build used, for messages.
func knownHostsName(req Request) string {
	if req.BuildersKnownHosts == "" {
		return "an empty known hosts list"
	}
	return req.BuildersKnownHosts
}

// putSecretScript writes the first n bytes of stdin to $1, root's alone.
// It reads exactly n bytes rather than to the end: a transport that cannot
// half-close the exec's stdin (so the end never comes) cannot hang it; a
// short read fails the size check.
func putSecretScript(n int) string {
	return fmt.Sprintf(`umask 077 && mkdir -p "$(dirname "$1")" && head -c %d > "$1" && [ "$(wc -c < "$1")" -eq %d ]`, n, n)
}

// installSecret writes a secret (a key, the known hosts) to path on the
// secrets tmpfs, for this run only: through an exec's stdin (so remote
// daemons work too; the archive API would write beneath the tmpfs, into
// the container's layer), in a directory and a file only root may read,
// never in an image or a log.
func (r *Runner) installSecret(ctx context.Context, id, path string, data []byte) error {
	cmd := []string{"sh", "-c", putSecretScript(len(data)), "put-secret", path}
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Stdin: bytes.NewReader(data)}); err != nil {
		return status.Environment(fmt.Errorf("install %s in the build container: %w", path, err), "")
	}
	return nil
}
