package build

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// signKeyPath is where --sign-key lives in the build container, for this
// run only (see installSecret).
const signKeyPath = "/run/nixcross/keys/sign.sec"

// push is the "push" stage, after a good build and export: Nix in the
// build container signs the result (--sign-key) and copies it to each
// --push and --to-cache store in turn. A store that fails stops the stage
// with a build failure naming it; the exported result stays where it is.
func (r *Runner) push(ctx context.Context, j job, c *buildContainer, b built, res *Result) error {
	req := j.req
	if len(req.Push) == 0 {
		return nil
	}
	keyFile := ""
	if req.SignKey != "" {
		key, err := os.ReadFile(req.SignKey)
		if err != nil {
			return status.Usage(fmt.Errorf("read --sign-key: %w", err), "")
		}
		if err := r.installSecret(ctx, c.id, signKeyPath, key); err != nil {
			return err
		}
		keyFile = signKeyPath
	}
	n, size := pushSet(req.PushWhat, b)
	local := r.Engine.Endpoint.Local()
	pushDir := pushMount
	if !local {
		pushDir = pushCopyDir
	}
	for i, st := range req.Push {
		p := nix.Push{URL: st.inContainer(i, pushDir), Paths: b.outputs, Closure: req.PushWhat != PushOutputs, KeyFile: keyFile, Options: req.Nix.Options}
		// Rootless Docker's root already is the user on the host.
		if st.HostDir != "" && local && r.CacheOwner != nil && !r.Engine.Rootless {
			p.ChownDir, p.ChownTo = pushMount(i), fmt.Sprintf("%d:%d", r.CacheOwner.UID, r.CacheOwner.GID)
		}
		done := r.UI.LoggedPhase(j.prefix, fmt.Sprintf("push %d paths to %s", n, st.URL))
		logw := r.UI.Lines(j.prefix, true)
		watch := newCopyWatch(b.closure, r.UI.Progress(j.prefix+"push", size))
		logw.OnLine = watch.line
		env := c.nixEnv
		if st.hasScheme("s3") && req.Forward != nil {
			env = append(slices.Clip(env), req.Forward.AWS...)
		}
		err := r.Engine.Exec(ctx, c.id, engine.ExecSpec{Cmd: nix.PushScript(p), Env: env, Stdout: logw, Stderr: logw})
		logw.Flush()
		watch.done()
		done(err)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if status.KindOf(err) == status.KindDaemon {
				return fmt.Errorf("push to %s: %w", st.URL, err)
			}
			msg := nixError(logw.Tail(), err)
			return status.Build(fmt.Errorf("push to %s: %s", st.URL, msg), pushHint(msg, res.Link))
		}
		if st.HostDir != "" && !local {
			if err := r.fetchCache(ctx, j, c, pushDir(i), st.HostDir); err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				if status.KindOf(err) == status.KindDaemon {
					return fmt.Errorf("push to %s: %w", st.URL, err)
				}
				return status.Environment(fmt.Errorf("push to %s: %w", st.URL, err), fmt.Sprintf("the build succeeded and %s is in place; Nix wrote the cache in the build container, and copying it out failed", res.Link))
			}
		}
		res.Pushed = append(res.Pushed, PushStats{Store: st.URL, Paths: n, Bytes: size, Copied: min(watch.copied, n)})
	}
	return nil
}

// fetchCache copies the binary cache Nix wrote at dir in the build
// container (a remote daemon cannot bind-mount the host's directory) into
// hostDir, owned by the user sudo names.
func (r *Runner) fetchCache(ctx context.Context, j job, c *buildContainer, dir, hostDir string) error {
	done := r.UI.LoggedPhase(j.prefix, "copy the cache to "+hostDir)
	tar, err := r.Engine.Archive(ctx, c.id, dir)
	if err == nil {
		_, err = hoststore.ExtractCache(tar, hostDir, r.CacheOwner)
		tar.Close()
	}
	done(err)
	return err
}

// copyWatch follows Nix's log of a `nix copy`: each "copying path 'P'"
// line starts a path, so the paths before it are done; it moves the
// progress bar by their NAR sizes and counts the paths Nix copied (the
// others the store already had).
type copyWatch struct {
	sizes   map[string]int64
	bar     *ui.Bar
	current string // the path being copied
	bytes   int64  // NAR bytes of the paths done
	copied  int
}

func newCopyWatch(c closure.Closure, bar *ui.Bar) *copyWatch {
	sizes := make(map[string]int64, len(c))
	for _, p := range c {
		sizes[p.Path] = p.NarSize
	}
	return &copyWatch{sizes: sizes, bar: bar}
}

// line reads one line of Nix's log.
func (cw *copyWatch) line(s string) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "copying path '")
	if !ok {
		return
	}
	path, _, _ := strings.Cut(rest, "'")
	cw.bytes += cw.sizes[cw.current]
	cw.current = path
	cw.copied++
	cw.bar.Set(cw.bytes)
}

// done removes the bar once Nix has finished.
func (cw *copyWatch) done() { cw.bar.Done() }

// pushSet sizes what --push-what pushes: the outputs alone, or with
// their closure as the build reported it (Nix copies the closure of the
// outputs it is given).
func pushSet(what PushWhat, b built) (paths int, bytes int64) {
	if what != PushOutputs {
		return len(b.closure), b.closure.NarBytes()
	}
	outs := map[string]bool{}
	for _, o := range b.outputs {
		outs[o] = true
	}
	for _, p := range b.closure {
		if outs[p.Path] {
			bytes += p.NarSize
		}
	}
	return len(b.outputs), bytes
}

// reHTTPAuth matches Nix's report of a store that refused it credentials.
var reHTTPAuth = regexp.MustCompile(`HTTP error 40[13]\b`)

// pushHint is the advice under a store's refusal (Nix's message msg),
// saying where the built result is.
func pushHint(msg, link string) string {
	hint := fmt.Sprintf("the build succeeded and %s is in place; Nix's log above says why the store refused the copy", link)
	switch {
	case strings.Contains(msg, "lacks a signature by a trusted key"):
		return "the store accepts only paths signed by a key it trusts: push with --sign-key NAME.sec and add NAME.pub's line to trusted-public-keys there; " + hint
	case reHTTPAuth.MatchString(msg):
		return "the store wants credentials: put them in a netrc file (machine HOST login USER password SECRET) and name it with netrc-file in ~/.config/nix/nix.conf or NIX_CONFIG, which nixcross hands to Nix for the run; " + hint
	case strings.Contains(msg, "don't know how to open Nix store with scheme"):
		return "the image's Nix cannot write to this kind of store: " + s3Hint + "; " + hint
	}
	return hint
}

// nixError is Nix's last "error:" line in log, or err when there is none.
func nixError(log string, err error) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "error: "); ok {
			return msg
		}
	}
	return err.Error()
}
