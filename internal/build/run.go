package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/machine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
	"github.com/nixcross/nixcross/internal/ui"
)

// Runner runs builds against one daemon.
type Runner struct {
	Engine     *engine.Engine
	UI         *ui.Reporter
	Dockerfile []byte
	// Emulation makes foreign systems runnable; nil disables it.
	Emulation Emulation
	// RunID labels this invocation's containers (host:pid).
	RunID string
	// Verbose shows nixcross's own detail lines.
	Verbose bool
	// Owner receives the exported files; nil leaves them to the process.
	Owner *hoststore.Owner
}

// Emulation is what the build needs from binfmt: find out, by running a
// probe inside the build container, whether a system runs, and if not
// register it for as long as the build needs it.
type Emulation interface {
	// Probe returns the probe program for s.
	Probe(s system.System) ([]byte, error)
	// Diagnose explains a failed probe run.
	Diagnose(s system.System, output string, err error) (summary, hint string)
	// Hold makes s runnable until release is called, registering QEMU from
	// helperImage (the builder image, which carries static QEMU).
	Hold(ctx context.Context, eng *engine.Engine, helperImage string, s system.System) (release func(context.Context) error, err error)
}

// Prepared is what every system's build of one request shares.
type Prepared struct {
	Image  engine.Image
	Volume string // cache volume; "" with --no-cache
	Source FlakeSource
	// helperImage carries static QEMU for registration: the built-in
	// builder image, built on demand when --image names another.
	helperImage func(context.Context) (string, error)
	// Mode is how the flake reaches the container: "mount", "copy", or
	// "" for flakes Nix fetches itself.
	Mode string
	// auto allows falling back from mount to copy when the daemon cannot
	// see the directory.
	auto bool
	// nix reads the image's Nix version once for all systems.
	nix *nixCheck
}

// Run builds every requested system and returns one Result each. The
// error is the first failure (results still list every build).
func (r *Runner) Run(ctx context.Context, req Request, src FlakeSource) ([]*Result, error) {
	systems := req.Systems
	if len(systems) == 0 {
		systems = []system.System{r.Engine.System}
	}
	for _, s := range systems {
		if err := system.CheckHost(s, r.Engine.System.OS); err != nil {
			return nil, err
		}
	}
	r.UI.Printf("docker %s (%s): Docker %s on %s", r.Engine.Endpoint.Host, r.Engine.Endpoint.Source, r.Engine.Version, r.Engine.System)
	t0 := time.Now()
	prep, err := r.prepare(ctx, req, src)
	if err != nil {
		return nil, err
	}
	r.trace("image and cache volume", t0)
	go r.sweepLeftovers(context.WithoutCancel(ctx))

	results := make([]*Result, len(systems))
	jobs := max(req.Jobs, 1)
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, s := range systems {
		link := req.OutLink
		if len(systems) > 1 {
			link = req.OutLink + "-" + s.String()
		}
		prefix := ""
		if len(systems) > 1 {
			prefix = "[" + s.String() + "] "
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.buildOne(ctx, req, prep, s, link, prefix)
		}()
	}
	wg.Wait()
	var errs []error
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	if len(errs) == 0 {
		return results, nil
	}
	if len(errs) == 1 {
		return results, errs[0]
	}
	return results, &multiError{errs}
}

// multiError reports several failed systems; the first failure's kind
// decides the exit code (errors.As walks them in order).
type multiError struct{ errs []error }

func (m *multiError) Error() string {
	var b strings.Builder
	for i, e := range m.errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (m *multiError) Unwrap() []error { return m.errs }

func (r *Runner) prepare(ctx context.Context, req Request, src FlakeSource) (Prepared, error) {
	p := Prepared{Source: src, nix: &nixCheck{}}
	done := r.UI.Phase("", "image")
	var err error
	if req.Image != "" {
		p.Image, err = r.Engine.UserImage(ctx, req.Image)
	} else {
		p.Image, err = r.Engine.EnsureBuilderImage(ctx, r.Dockerfile, baseOr(req.Base), r.announceImageBuild)
	}
	done(err)
	if err != nil {
		return p, err
	}
	if src.Local {
		p.Mode = req.Source
		if p.Mode == "" || p.Mode == "auto" {
			p.auto = true
			p.Mode = "copy"
			if r.Engine.Endpoint.Local() {
				p.Mode = "mount"
			}
		}
	}
	p.helperImage = func(context.Context) (string, error) { return p.Image.Ref, nil }
	if req.Image != "" {
		var once sync.Once
		var ref string
		var herr error
		p.helperImage = func(ctx context.Context) (string, error) {
			once.Do(func() {
				img, err := r.Engine.EnsureBuilderImage(ctx, r.Dockerfile, baseOr(req.Base), r.announceImageBuild)
				ref, herr = img.Ref, err
			})
			return ref, herr
		}
	}
	if !req.NoCache {
		p.Volume, err = ensureCacheVolume(ctx, r.Engine, p.Image)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// announceImageBuild says the builder image is being built (the first
// run's long wait) and, under --verbose, shows the build's log.
func (r *Runner) announceImageBuild(ref string) io.Writer {
	r.UI.Printf("building the builder image %s from Dockerfile.nix (first use only; about a minute)", ref)
	if r.Verbose {
		return r.UI.Lines("image> ", true)
	}
	return nil
}

// containerSource streams store paths out of the build container: NARs
// from `nix-store --dump` through a Docker exec (stderr goes to the log),
// and single paths as the daemon's tar.
type containerSource struct {
	eng    *engine.Engine
	id     string
	stderr io.Writer
}

func (c containerSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	return c.eng.ExecStream(ctx, c.id, engine.ExecSpec{Cmd: nix.DumpCommand(paths), Stderr: c.stderr})
}

// Tar makes containerSource a closure.TarSource: large paths come as the
// daemon's own tar, the faster stream.
func (c containerSource) Tar(ctx context.Context, storePath string) (io.ReadCloser, error) {
	return c.eng.Archive(ctx, c.id, storePath)
}

func (r *Runner) buildOne(ctx context.Context, req Request, prep Prepared, s system.System, link, prefix string) *Result {
	start := time.Now()
	res := &Result{System: s.String(), Flake: req.Flake, Attr: req.Attr, Native: s == r.Engine.System, Machines: []string{}, Outputs: []string{}}
	err := r.buildInto(ctx, req, prep, s, link, prefix, res)
	res.duration = time.Since(start)
	res.Seconds = res.duration.Round(10 * time.Millisecond).Seconds()
	if err != nil {
		res.err = err
		res.Error = err.Error()
	}
	return res
}

// startContainer creates and starts a container of role with the cache
// volume at /nix and the flake where Nix will look for it: bind-mounted
// read-only at its own path, or copied in through the API. In auto mode a
// mount the daemon cannot see (remote daemon, folder not shared with
// Docker Desktop) falls back to a copy. The caller removes the container
// (engine.RemoveContainer survives cancellation), also on error.
//
// checkLater leaves the visibility check of a mount to the caller's first
// command (the build script does it, saving a round trip); the caller
// then reports errMountInvisible itself.
func (r *Runner) startContainer(ctx context.Context, prep *Prepared, s system.System, role string, checkLater bool) (string, error) {
	t0 := time.Now()
	id, err := r.createContainer(ctx, *prep, s, role)
	r.trace("container create", t0)
	var startErr error
	if err != nil {
		// A bind source missing on the daemon's side fails the create.
		if !(prep.Mode == "mount" && prep.auto && errors.Is(err, errMountInvisible)) {
			return id, err
		}
		startErr = err
	} else {
		t0 = time.Now()
		startErr = r.Engine.StartContainer(ctx, id)
		r.trace("container start", t0)
	}
	t0 = time.Now()
	visible := startErr == nil && prep.Mode == "mount" && (checkLater || r.mountVisible(ctx, id, prep.Source))
	if prep.Mode == "mount" && !checkLater {
		r.trace("mount check", t0)
	}
	if prep.Mode == "mount" && !visible {
		if ctx.Err() != nil {
			return id, context.Cause(ctx)
		}
		if !prep.auto {
			cause := fmt.Errorf("the Docker daemon at %s cannot see %s: the bind mount is missing or empty in the container", r.Engine.Endpoint.Host, prep.Source.Top)
			if startErr != nil {
				cause = fmt.Errorf("%w (%v)", cause, startErr)
			}
			return id, status.Environment(cause, "use --source copy to send the flake through the Docker API")
		}
		r.UI.Printf("the daemon cannot see %s; sending the flake through the Docker API instead (--source copy)", prep.Source.Top)
		if err := r.Engine.RemoveContainer(ctx, id); err != nil {
			return "", err
		}
		prep.Mode = "copy"
		if id, err = r.createContainer(ctx, *prep, s, role); err != nil {
			return id, err
		}
		startErr = r.Engine.StartContainer(ctx, id)
	}
	if startErr != nil {
		return id, status.Environment(startErr, "")
	}
	if prep.Mode == "copy" {
		done := r.UI.Phase("", "copy source "+prep.Source.Top)
		err := copySource(ctx, r.Engine, id, prep.Source, r.UI)
		if err == nil && prep.Source.InGit && prep.Source.ContainerDir != prep.Source.ContainerTop {
			// A flake in a subdirectory may reach files above it (../lib):
			// only a git repository makes Nix take the whole tree as the
			// flake's source, as it does locally. The copy holds exactly the
			// tracked files, so committing all of it changes nothing else.
			err = r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c",
				`cd "$1" && git init -q && git add -A && git -c user.name=nixcross -c user.email=nixcross@localhost commit -qm source`, "git-copy", prep.Source.ContainerTop}})
			if err != nil {
				err = status.Environment(fmt.Errorf("make the copied source a git repository: %w", err), "")
			}
		}
		done(err)
		if err != nil {
			return id, err
		}
	}
	return id, nil
}

// errMountInvisible marks a bind mount the daemon cannot make.
var errMountInvisible = errors.New("the Docker daemon cannot see the flake directory")

func (r *Runner) createContainer(ctx context.Context, prep Prepared, s system.System, role string) (string, error) {
	mounts := []mount.Mount{}
	if prep.Volume != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: prep.Volume, Target: "/nix"})
	} else {
		// Anonymous volume: seeded from the image, removed with the container.
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Target: "/nix"})
	}
	if prep.Mode == "mount" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: prep.Source.Top, Target: prep.Source.ContainerTop, ReadOnly: true})
	}
	workdir := ""
	if prep.Source.Local {
		workdir = prep.Source.ContainerDir
	}
	id, err := r.Engine.CreateContainer(ctx, engine.ContainerSpec{
		Name:       fmt.Sprintf("nixcross-%s-%s-%s", role, s, randomSuffix()),
		Image:      prep.Image.Ref,
		Cmd:        engine.IdleCmd(),
		Env:        []string{"NIX_CONFIG=experimental-features = nix-command flakes"},
		WorkingDir: workdir,
		Labels:     engine.Labels(role, engine.LabelRun, r.RunID, engine.LabelSystem, s.String()),
		Mounts:     mounts,
	})
	if err != nil {
		if prep.Mode == "mount" && strings.Contains(err.Error(), "bind source path does not exist") {
			return "", status.Environment(fmt.Errorf("%w: %s is not there for the daemon at %s", errMountInvisible, prep.Source.Top, r.Engine.Endpoint.Host), "use --source copy to send the flake through the Docker API")
		}
		return "", status.Environment(err, "")
	}
	return id, nil
}

// mountVisible checks the flake is really there: a daemon on another
// machine or VM mounts an empty (or missing) directory instead. Only a
// failed test counts as invisible, not a failed exec.
func (r *Runner) mountVisible(ctx context.Context, id string, src FlakeSource) bool {
	err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"test", "-f", src.ContainerDir + "/flake.nix"}})
	var exit *engine.ExitError
	return err == nil || !errors.As(err, &exit)
}

func sourceHint(src FlakeSource) string {
	if !src.Local {
		return ""
	}
	return "if the Docker daemon cannot see " + src.Top + " (remote daemon, folder not shared with Docker Desktop), use --source copy"
}

func (r *Runner) buildInto(ctx context.Context, req Request, prep Prepared, s system.System, link, prefix string, res *Result) error {
	err := r.buildOnce(ctx, req, &prep, s, link, prefix, res)
	if errors.Is(err, errMountInvisible) && prep.auto && prep.Mode == "mount" {
		r.UI.Printf("%sthe daemon cannot see %s; sending the flake through the Docker API instead (--source copy)", prefix, prep.Source.Top)
		prep.Mode = "copy"
		return r.buildOnce(ctx, req, &prep, s, link, prefix, res)
	}
	return err
}

// exitMountInvisible is the build script's status when the mounted flake
// is not there.
const exitMountInvisible = 97

func (r *Runner) buildOnce(ctx context.Context, req Request, prepp *Prepared, s system.System, link, prefix string, res *Result) (err error) {
	prep := *prepp
	defer func() { *prepp = prep }()
	id, err := r.startContainer(ctx, &prep, s, engine.RoleBuild, true)
	res.Source = prep.Mode
	keep := false
	defer func() {
		if keep || id == "" {
			return
		}
		t0 := time.Now()
		if rerr := r.Engine.RemoveContainer(ctx, id); rerr != nil {
			err = errors.Join(err, rerr)
		}
		r.trace("container remove", t0)
	}()
	if err != nil {
		return err
	}
	version, err := prep.nix.check(ctx, r.Engine, id, prep.Image.Ref)
	if err != nil {
		return err
	}
	res.Nix = version.String()

	if !res.Native {
		release, emu, err := r.ensureRunnable(ctx, id, s, prefix, prep.helperImage)
		if release != nil {
			defer release(context.WithoutCancel(ctx))
		}
		if err != nil {
			return err
		}
		res.Emulator = emu
		// The CPU's own compatibility mode (i686 on x86_64, armv7l on
		// aarch64) ran the probe: no QEMU involved.
		if emu == "host" && s.CompatibleWith(r.Engine.System) {
			res.Native, res.Emulator = true, ""
		}
	}

	// Build.
	done := r.UI.LoggedPhase(prefix, "build "+req.Flake+"#"+req.Attr+" for "+s.String())
	gcRoot := ""
	if prep.Volume != "" {
		gcRoot = cache.RootsDir + "/" + gcRootName(prep.Source, req, s)
	}
	var stdout bytes.Buffer
	logw := r.UI.Lines(prefix, true)
	flags := req.Nix
	// The user's --option comes last, so it can override what nixcross sets.
	flags.Options = append(containerSettings(prep.Image, r.Engine.System), flags.Options...)
	cmd := nix.BuildCommand(nix.Installable{Flake: prep.Source.Ref(req.Flake), Attr: req.Attr}, s, gcRoot, flags)
	prelude := ""
	if prep.Mode == "mount" {
		prelude = fmt.Sprintf(`[ -f %q ] || exit %d`, prep.Source.ContainerDir+"/flake.nix", exitMountInvisible)
	}
	if gcRoot != "" {
		prelude += "\nmkdir -p " + cache.RootsDir + " /nix/var/nixcross && touch " + cache.LastUsedFile
	}
	cmd = nix.BuildScript(prelude, cmd)
	env, err := r.remoteBuilders(ctx, id, req)
	if err != nil {
		done(err)
		return err
	}
	t0 := time.Now()
	err = r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Env: env, Stdout: &stdout, Stderr: logw})
	r.trace("nix build + closure query", t0)
	logw.Flush()
	done(err)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var exit *engine.ExitError
		if prep.Mode == "mount" && errors.As(err, &exit) && exit.Code == exitMountInvisible {
			return status.Environment(fmt.Errorf("%w: %s is missing or empty in the container of the daemon at %s", errMountInvisible, prep.Source.Top, r.Engine.Endpoint.Host),
				"use --source copy to send the flake through the Docker API")
		}
		if req.Nix.KeepFailed {
			keep = true
			kept := keptName(s)
			// The new name tells later runs' sweep to leave it alone.
			if _, rerr := r.Engine.API.ContainerRename(context.WithoutCancel(ctx), id, client.ContainerRenameOptions{NewName: kept}); rerr != nil {
				kept = id[:12]
			}
			res.KeptContainer = kept
			r.UI.Printf("%skept the failed build's container: docker exec -it %s bash   (Nix's note above names the build directory; remove it with `nixcross clean`)", prefix, kept)
		}
		return r.buildFailure(ctx, id, err, logw.Tail(), prep, req, s, version)
	}
	buildJSON, closureJSON, err := nix.SplitBuildOutput(stdout.Bytes())
	if err != nil {
		return err
	}
	outs, err := nix.ParseBuildJSON(buildJSON)
	if err != nil {
		return err
	}
	res.Outputs = outs
	clo, err := closure.ParsePathInfo(closureJSON)
	if err != nil {
		return err
	}
	res.Closure = ClosureStats{Paths: len(clo), NarBytes: clo.NarBytes()}

	// Export.
	defer r.trace("export", time.Now())
	return r.export(ctx, containerSource{eng: r.Engine, id: id, stderr: r.UI.Lines(prefix, true)}, clo, outs, link, prefix, s, req, res)
}

func (r *Runner) export(ctx context.Context, src closure.Source, clo closure.Closure, outs []string, link, prefix string, s system.System, req Request, res *Result) error {
	absLink, err := filepath.Abs(link)
	if err != nil {
		return status.Usage(fmt.Errorf("out-link %s: %w", link, err), "")
	}
	store, err := hoststore.Open(filepath.Dir(absLink), r.Owner)
	if err != nil {
		return status.Environment(err, "")
	}
	done := r.UI.Phase(prefix, "export")
	bar := r.UI.Progress(prefix+"export", clo.NarBytes())
	stats, err := closure.Export(ctx, store, src, clo, closure.ExportOptions{
		Progress: func(n, _ int64) { bar.Set(n) },
		TarFailed: func(p string, err error) {
			if r.Verbose {
				r.UI.Printf("%s  %s: exporting as a NAR instead of the daemon's tar: %v", prefix, p, err)
			}
		},
	})
	bar.Done()
	done(err)
	if err != nil {
		return err
	}
	res.Copied = CopyStats{Paths: stats.Paths, Bytes: stats.Bytes}
	if err := store.Link(absLink, outs[0]); err != nil {
		return err
	}
	res.Link = link
	files, err := machine.Scan(store.Dir(outs[0]))
	if err != nil {
		return err
	}
	for _, m := range machine.Summarize(files) {
		res.Machines = append(res.Machines, m.Name())
	}
	if req.Verify {
		if err := machine.Verify(files, s); err != nil {
			return status.Build(err, "the build produced binaries for another CPU; check the derivation's system and cross-compilation settings")
		}
	}
	if req.Dereference {
		dest := absLink + "-deref"
		rep, err := store.Dereference(outs[0], dest, hoststore.DerefLimit(clo.NarBytes()))
		if errors.Is(err, hoststore.ErrDerefTooLarge) {
			return status.Build(err, fmt.Sprintf("ship %s together with nix/ instead (rsync -a %s nix user@host:dir/), which keeps links as links", link, link))
		}
		if err != nil {
			return err
		}
		res.Deref = link + "-deref"
		for _, l := range rep.Kept {
			r.UI.Warnf("%s%s: link %s leaves the closure; kept as a link", prefix, res.Deref, l)
		}
	}
	return nil
}

func (r *Runner) buildFailure(ctx context.Context, id string, err error, tail string, prep Prepared, req Request, s system.System, version nix.Version) error {
	src := prep.Source
	var exit *engine.ExitError
	if !errors.As(err, &exit) {
		return status.Environment(fmt.Errorf("run nix build: %w", err), "")
	}
	adv := nix.Explain(tail)
	cause := fmt.Errorf("nix build of %s#%s for %s failed (exit %d)", req.Flake, req.Attr, s, exit.Code)
	if adv == nil {
		return status.Build(cause, "")
	}
	switch adv.Kind {
	case "emulation", "exec":
		return status.Environment(cause, adv.Message)
	case "nix-version":
		return status.Build(cause, fmt.Sprintf("the flake needs Nix %s or later to evaluate and %s has Nix %s: drop --image to use the built-in builder image, or use an image with a newer Nix", adv.Path, prep.Image.Ref, version))
	case "untracked":
		if !src.UntrackedFile(adv.Path) {
			return status.Build(cause, "")
		}
	case "attribute":
		msg := fmt.Sprintf("%s#%s has no packages.%s.%s", req.Flake, req.Attr, s, req.Attr)
		hint := "see what the flake offers with `nix flake show`"
		if names := r.offeredAttrs(ctx, id, src, req, s); names != "" {
			hint = "packages for " + s.String() + " in this flake: " + names
		} else if names == "" {
			hint = "the flake offers no packages for " + s.String()
		}
		return status.Usage(errors.New(msg), hint)
	}
	return status.Build(cause, adv.Message)
}

func gcRootName(src FlakeSource, req Request, s system.System) string {
	key := src.HostDir
	if !src.Local {
		key = req.Flake
	}
	return fmt.Sprintf("%s-%s-%s", s, sanitize(req.Attr), shortHash(key))
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// KeptPrefix starts the names of containers kept by --keep-failed.
const KeptPrefix = "nixcross-kept-"

func keptName(s system.System) string { return KeptPrefix + s.String() + "-" + randomSuffix() }

// DefaultBase is the base image Dockerfile.nix builds on.
const DefaultBase = "debian:trixie-slim"

func baseOr(b string) string {
	if b == "" {
		return DefaultBase
	}
	return b
}

// offeredAttrs lists packages.<s> of the flake, for the advice under a
// missing attribute; "" when there are none or they cannot be listed.
func (r *Runner) offeredAttrs(ctx context.Context, id string, src FlakeSource, req Request, s system.System) string {
	var out bytes.Buffer
	cmd := []string{"nix", "eval", "--json", "--no-write-lock-file", src.Ref(req.Flake) + "#packages." + s.String(), "--apply", "builtins.attrNames"}
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: cmd, Stdout: &out}); err != nil {
		return ""
	}
	var names []string
	if json.Unmarshal(out.Bytes(), &names) != nil {
		return ""
	}
	return strings.Join(names, ", ")
}

// builderKeyPath is where the remote builders' key lives in the build
// container: copied in through the API for this run only (so it works with
// remote daemons too), readable by root alone, gone with the container,
// never in an image or a log.
const builderKeyPath = "/run/nixcross/ssh/builders-key"

// remoteBuilders installs the --builders-ssh-key and returns the
// environment that makes Nix's ssh use it.
func (r *Runner) remoteBuilders(ctx context.Context, id string, req Request) ([]string, error) {
	if req.BuildersSSHKey == "" {
		return nil, nil
	}
	key, err := os.ReadFile(req.BuildersSSHKey)
	if err != nil {
		return nil, status.Usage(fmt.Errorf("read --builders-ssh-key: %w", err), "")
	}
	if err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"mkdir", "-p", "-m", "0700", "/run/nixcross/ssh"}}); err != nil {
		return nil, status.Environment(fmt.Errorf("prepare ssh directory: %w", err), "")
	}
	if err := r.Engine.PutFile(ctx, id, "/run/nixcross/ssh", "builders-key", key, 0o400); err != nil {
		return nil, status.Environment(err, "")
	}
	return []string{"NIX_SSHOPTS=-i " + builderKeyPath + " -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/run/nixcross/ssh/known_hosts"}, nil
}

// trace reports a step's duration under --verbose: where a build's time goes.
func (r *Runner) trace(step string, start time.Time) {
	if r.Verbose {
		r.UI.Printf("  %-28s %s", step, time.Since(start).Round(time.Millisecond))
	}
}
