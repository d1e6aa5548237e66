package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/system"
	"github.com/nixcross/nixcross/internal/ui"
)

// daemon is a fake Docker daemon for the runner: it records the containers
// the runner makes and what it runs in them, and answers the build's
// commands from the test's script.
type daemon struct {
	mu         sync.Mutex
	containers map[string]*fakeContainer
	order      []string // container IDs in creation order
	renamed    map[string]string
	// createErr fails ContainerCreate for a spec, startErr ContainerStart.
	createErr func(client.ContainerCreateOptions) error
	startErr  func(c *fakeContainer) error
	renameErr error
	// build answers the build script (nix build and the closure query).
	build func(ctx context.Context, c *fakeContainer) (stdout, stderr string, code int)
	// eval answers `nix eval` (the flake's packages for a missing attribute).
	eval func(c *fakeContainer) (stdout string, code int)
	// push answers the push script (nil: success).
	push func(c *fakeContainer, cmd []string) (stderr string, code int)
	// removeCtxErr records ctx.Err() of each removal: teardown must run
	// on a context that survived cancellation.
	removeCtxErr []error
	nar          []byte // what `nix-store --dump` streams
	// nixVersion is what `nix --version` prints ("" for the builder
	// image's); versionReads counts how often it ran.
	nixVersion   string
	versionReads int
	// repoDigests are every image's registry digests, as the daemon lists
	// them.
	repoDigests []string
	// buildUsers answers the script adding an --image image's build
	// users (nil: it succeeds).
	buildUsers func() (stderr string, code int)
	// storeTypes is what `nix help-stores` prints ("" for Debian's Nix,
	// which has no S3 store).
	storeTypes string
	// imageArch is the builder image's architecture ("" when unknown).
	imageArch string
	// dumps, when set, is each path's NAR for `nix-store --dump`.
	dumps map[string][]byte
	// provenance is the provenance script's stdout.
	provenance string
	// rebuild answers `nix build --rebuild` (nil: reproducible).
	rebuild func(c *fakeContainer) (stderr string, code int)
	// probeCodes are the exit statuses of the probe's runs, in order
	// (then 0).
	probeCodes []int
	// state is what inspecting a container says (nil: it runs); down
	// makes the daemon stop answering new connections.
	state func(c *fakeContainer) (client.ContainerInspectResult, error)
	down  bool
	// settles makes waiting for a container to stop return at once.
	settles bool
	// memEvents is the build container's memory cgroup events ("": none).
	memEvents string
}

type fakeContainer struct {
	id     string
	opts   client.ContainerCreateOptions
	system string
	mounts []string // "type:source:target"
	// copied lists the directories archives were extracted to.
	copied  []string
	cmds    [][]string
	envs    [][]string // each command's environment
	removed bool
}

func newDaemon() *daemon {
	return &daemon{containers: map[string]*fakeContainer{}, renamed: map[string]string{}}
}

// engine is an Engine on d for a local daemon on x86_64-linux.
func (d *daemon) engine() *engine.Engine {
	f := &engine.Fake{
		ImageInspectFunc: func(ctx context.Context, ref string) (client.ImageInspectResult, error) {
			return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:0123456789abcdef0123", Os: "linux", Architecture: d.imageArch, RepoDigests: d.repoDigests}}, nil
		},
		VolumeCreateFunc: func(ctx context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
			return client.VolumeCreateResult{}, nil
		},
		ContainerListFunc: func(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
			return client.ContainerListResult{}, nil
		},
		ContainerCreateFunc: d.create,
		ContainerStartFunc: func(ctx context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
			if d.startErr != nil {
				if err := d.startErr(d.container(id)); err != nil {
					return client.ContainerStartResult{}, err
				}
			}
			return client.ContainerStartResult{}, nil
		},
		ContainerRemoveFunc: func(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.containers[id].removed = true
			d.removeCtxErr = append(d.removeCtxErr, ctx.Err())
			return client.ContainerRemoveResult{}, nil
		},
		ContainerRenameFunc: func(ctx context.Context, id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
			if ctx.Err() != nil {
				return client.ContainerRenameResult{}, ctx.Err()
			}
			if d.renameErr != nil {
				return client.ContainerRenameResult{}, d.renameErr
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			d.renamed[id] = o.NewName
			return client.ContainerRenameResult{}, nil
		},
		CopyToContainerFunc: func(ctx context.Context, id string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
			io.Copy(io.Discard, o.Content)
			d.mu.Lock()
			defer d.mu.Unlock()
			d.containers[id].copied = append(d.containers[id].copied, o.DestinationPath)
			return client.CopyToContainerResult{}, nil
		},
		ExecFunc: d.exec,
	}
	d.endings(f)
	return &engine.Engine{API: f, System: system.System{Arch: "x86_64", OS: "linux"}, Endpoint: engine.Endpoint{Host: "unix:///var/run/docker.sock"}}
}

func (d *daemon) create(ctx context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	if d.createErr != nil {
		if err := d.createErr(o); err != nil {
			return client.ContainerCreateResult{}, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := fmt.Sprintf("%064d", len(d.order)+1)
	c := &fakeContainer{id: id, opts: o, system: o.Config.Labels[engine.LabelSystem]}
	for _, m := range o.HostConfig.Mounts {
		c.mounts = append(c.mounts, fmt.Sprintf("%s:%s:%s", m.Type, m.Source, m.Target))
	}
	d.containers[id] = c
	d.order = append(d.order, id)
	return client.ContainerCreateResult{ID: id}, nil
}

func (d *daemon) container(id string) *fakeContainer {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.containers[id]
}

// made returns the containers in creation order.
func (d *daemon) made() []*fakeContainer {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*fakeContainer
	for _, id := range d.order {
		out = append(out, d.containers[id])
	}
	return out
}

func (d *daemon) exec(ctx context.Context, id string, cmd, env []string) (string, string, int) {
	c := d.container(id)
	d.mu.Lock()
	c.cmds = append(c.cmds, cmd)
	c.envs = append(c.envs, env)
	d.mu.Unlock()
	switch {
	case len(cmd) > 3 && cmd[0] == "sh" && cmd[3] == "nix-build":
		return d.build(ctx, c)
	case len(cmd) > 3 && cmd[0] == "sh" && cmd[3] == "nix-dump":
		if d.dumps == nil {
			return string(d.nar), "", 0
		}
		var out []byte
		for _, p := range cmd[4:] {
			out = append(out, d.dumps[p]...)
		}
		return string(out), "", 0
	case len(cmd) > 3 && cmd[0] == "sh" && cmd[3] == "build-users":
		if d.buildUsers == nil {
			return "", "", 0
		}
		stderr, code := d.buildUsers()
		return "", stderr, code
	case len(cmd) > 3 && cmd[0] == "sh" && cmd[3] == "nixcross-provenance":
		return d.provenance, "", 0
	case len(cmd) > 2 && cmd[0] == "nix" && cmd[2] == "--rebuild":
		if d.rebuild == nil {
			return "[]", "", 0
		}
		stderr, code := d.rebuild(c)
		return "", stderr, code
	case len(cmd) == 3 && cmd[2] == oomKillsScript:
		return d.memEvents, "", 0
	case cmd[0] == "nix" && cmd[1] == "--version":
		d.mu.Lock()
		defer d.mu.Unlock()
		d.versionReads++
		if d.nixVersion == "" {
			return "nix (Nix) 2.26.3\n", "", 0
		}
		return d.nixVersion, "", 0
	case len(cmd) == 2 && cmd[0] == "nix" && cmd[1] == "help-stores":
		if d.storeTypes == "" {
			return "  · HTTP Binary Cache Store\n  · Local Binary Cache Store\n  · Local Store\n  · SSH Store\n", "", 0
		}
		return d.storeTypes, "", 0
	case len(cmd) > 3 && cmd[0] == "sh" && cmd[3] == "nix-push":
		if d.push == nil {
			return "", "", 0
		}
		stderr, code := d.push(c, cmd)
		return "", stderr, code
	case cmd[0] == "nix" && cmd[1] == "eval":
		if d.eval == nil {
			return "", "", 1
		}
		out, code := d.eval(c)
		return out, "", code
	case strings.HasPrefix(cmd[0], probeDir+"/nixcross-probe-"):
		d.mu.Lock()
		defer d.mu.Unlock()
		if len(d.probeCodes) > 0 {
			code := d.probeCodes[0]
			d.probeCodes = d.probeCodes[1:]
			return "", "exec format error\n", code
		}
	}
	return "", "", 0 // mkdir, git, test: all fine
}

// storePath is the one path the fake builds: a file, so its NAR is small.
const storePath = "/nix/store/0c2vm2kqhyp3rsvkylrdhm0ymkjw0mgm-hello"

// succeed makes every build produce storePath with a valid closure.
func (d *daemon) succeed() {
	d.nar = narOfFile("hello\n")
	sum := sha256.Sum256(d.nar)
	d.build = func(context.Context, *fakeContainer) (string, string, int) {
		return fmt.Sprintf(`[{"drvPath":"/nix/store/x.drv","outputs":{"out":%q}}]`+"\n%s\n"+`[{"path":%q,"narHash":"sha256-%s","narSize":%d,"references":[]}]`,
			storePath, nix.ClosureMarker, storePath, base64.StdEncoding.EncodeToString(sum[:]), len(d.nar)), "building hello\n", 0
	}
}

// narOfFile is the NAR serialisation of a regular file.
func narOfFile(content string) []byte {
	var b bytes.Buffer
	str := func(s string) {
		binary.Write(&b, binary.LittleEndian, uint64(len(s)))
		b.WriteString(s)
		b.Write(make([]byte, (8-len(s)%8)%8))
	}
	for _, s := range []string{"nix-archive-1", "(", "type", "regular", "contents", content, ")"} {
		str(s)
	}
	return b.Bytes()
}

// fakeEmulation is Emulation that records holds and releases.
type fakeEmulation struct {
	mu       sync.Mutex
	held     []system.System
	released []error // ctx.Err() at release
	// borrowed: another build's hold is what makes systems run.
	borrowed bool
}

func (e *fakeEmulation) Borrowed(ctx context.Context, eng *engine.Engine, s system.System) (bool, error) {
	return e.borrowed, nil
}

func (e *fakeEmulation) Probe(s system.System) ([]byte, error) { return []byte("probe"), nil }
func (e *fakeEmulation) Diagnose(s system.System, out string, err error) (string, string) {
	return "no handler", "install one"
}
func (e *fakeEmulation) Hold(ctx context.Context, eng *engine.Engine, helper string, s system.System) (func(context.Context) error, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.held = append(e.held, s)
	return func(ctx context.Context) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.released = append(e.released, ctx.Err())
		return nil
	}, nil
}

// runner is a Runner on d whose stderr the test can read.
// The reporter serialises the goroutines' writes; tests read it after Run.
func (d *daemon) runner() (*Runner, *bytes.Buffer, *fakeEmulation) {
	var out bytes.Buffer
	emu := &fakeEmulation{}
	return &Runner{Engine: d.engine(), UI: ui.New(&out, ui.Options{}), Dockerfile: []byte("# a recipe the fake daemon never builds\n"), Emulation: emu}, &out, emu
}

// request is a build of flake dir's hello with its out-link in out.
func request(t *testing.T, out string, systems ...system.System) Request {
	t.Helper()
	return Request{Flake: "./flake", Attr: "hello", Systems: systems, OutLink: out + "/result", Jobs: 1, Source: SourceAuto}
}

// localFlake is a FlakeSource for a flake outside git at dir.
func localFlake(dir string) FlakeSource {
	return FlakeSource{Local: true, HostDir: dir, Top: dir, ContainerTop: dir, ContainerDir: dir}
}

func hasMount(c *fakeContainer, kind string) bool {
	for _, m := range c.mounts {
		if strings.HasPrefix(m, kind+":") {
			return true
		}
	}
	return false
}

var errBindMissing = errors.New("Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist: /home/me/flake")
