//go:build integration

// Package integration runs the real nixcross binary against the real Docker
// daemon, with Nix and QEMU in the builder image, on offline fixture flakes.
// One image, one cache volume and one fixture repository are shared by all
// tests; `make test` sets the build tag.
package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/fixture"
	"github.com/nixcross/nixcross/internal/system"
)

var (
	nixcrossBin string // the binary under test
	fixtureDir  string // hello flake with builders for fixtureSystems
	docker      *client.Client
)

var fixtureSystems = []string{"x86_64-linux", "aarch64-linux", "riscv64-linux", "armv7l-linux", "i686-linux", "powerpc64le-linux", "s390x-linux"}

func TestMain(m *testing.M) {
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	root := fixture.RepoRoot()
	tmp, err := os.MkdirTemp("", "nixcross-it-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	// World-readable so the non-root user test can reach the binary and fixture.
	os.Chmod(tmp, 0o755)
	nixcrossBin = filepath.Join(tmp, "nixcross")
	if prebuilt := os.Getenv("NIXCROSS_IT_BIN"); prebuilt != "" {
		// A user without the module cache (make integration-rootless)
		// runs the binary make built.
		nixcrossBin = prebuilt
	} else {
		if err := fixture.BuildNixcross(root, nixcrossBin); err != nil {
			return 0, err
		}
	}
	var systems []system.System
	for _, s := range fixtureSystems {
		sys, err := system.Parse(s)
		if err != nil {
			return 0, err
		}
		systems = append(systems, sys)
	}
	fixtureDir = filepath.Join(tmp, "hello")
	if err := fixture.Prepare(root, fixtureDir, systems); err != nil {
		return 0, err
	}
	docker, err = client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return 0, err
	}
	defer docker.Close()
	// Containers that predate this run (another tool's, a developer's
	// running build) are not this suite's leftovers.
	for _, n := range listManaged("") {
		preexisting[n] = true
	}
	defer removeFlakeVolumes(fixtureDir)
	return m.Run(), nil
}

// removeFlakeVolumes removes, when the suite ends, the cache volumes its
// temporary flakes made: the fixture's, and those of copies in a workdir
// that is gone. Nothing would use them again.
func removeFlakeVolumes(fixture string) {
	fixtureKey := ""
	if src, err := build.ResolveFlake(fixture); err == nil {
		fixtureKey = src.StoreKey(fixture)
	}
	ctx := context.Background()
	vols, err := docker.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("label", engine.LabelRole+"="+engine.RoleCache)})
	if err != nil {
		return
	}
	workdirs := filepath.Join(os.TempDir(), "nixcross-work-")
	for _, v := range vols.Items {
		flake := v.Labels[engine.LabelFlake]
		_, statErr := os.Stat(flake)
		if flake != "" && (flake == fixtureKey || strings.HasPrefix(flake, workdirs) && os.IsNotExist(statErr)) {
			docker.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// run is one invocation of the binary.
type run struct {
	code   int
	stdout string
	stderr string
	took   time.Duration
}

func nixcross(t *testing.T, dir string, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nixcrossBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run nixcross %v: %v", args, err)
	}
	t.Logf("nixcross %s -> exit %d in %s\nstderr:\n%s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond), r.stderr)
	return r
}

// offline is the option every build in the tests passes: no binary cache.
var offline = []string{"--option", "substituters", ""}

type jsonBuild struct {
	System   string   `json:"system"`
	Docker   string   `json:"docker"`
	Source   string   `json:"source"`
	Flake    string   `json:"flake"`
	Attr     string   `json:"attr"`
	Outputs  []string `json:"outputs"`
	Link     string   `json:"link"`
	Machines []string `json:"machines"`
	Native   bool     `json:"native"`
	Nix      string   `json:"nix"`
	Error    string   `json:"error"`
	Closure  struct {
		Paths    int   `json:"paths"`
		NarBytes int64 `json:"narBytes"`
	} `json:"closure"`
	Copied struct {
		Paths int   `json:"paths"`
		Bytes int64 `json:"bytes"`
	} `json:"copied"`
}

func parseBuilds(t *testing.T, stdout string) []jsonBuild {
	t.Helper()
	var doc struct {
		Builds []jsonBuild `json:"builds"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	return doc.Builds
}

// managedContainers lists containers nixcross made, by role ("" for all).
func managedContainers(t *testing.T, role string) []string {
	t.Helper()
	var out []string
	for _, n := range listManaged(role) {
		if !preexisting[n] {
			out = append(out, n)
		}
	}
	return out
}

var preexisting = map[string]bool{}

func listManaged(role string) []string {
	f := client.Filters{}.Add("label", "nixcross.managed=true")
	if role != "" {
		f = f.Add("label", "nixcross.role="+role)
	}
	res, err := docker.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		panic("list containers: " + err.Error())
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, strings.Join(c.Names, ","))
	}
	return names
}

// workdir is a fresh directory any user may write (the non-root user
// test builds in one), removed after the test.
func workdir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "nixcross-work-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o777)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// buildImage builds images/<name>/ (the directory is the build context)
// under tag through the API, with build args, and removes the image when
// the test ends. It returns the image ID.
func buildImage(t *testing.T, tag, name string, args map[string]string) string {
	t.Helper()
	ctx := context.Background()
	buildContext, err := tarDir(filepath.Join(fixture.RepoRoot(), "images", name))
	if err != nil {
		t.Fatalf("image %s: %v", name, err)
	}
	buildArgs := map[string]*string{}
	for k, v := range args {
		buildArgs[k] = &v
	}
	res, err := docker.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags: []string{tag}, BuildArgs: buildArgs, Labels: map[string]string{"nixcross.test": name}, Remove: true, ForceRemove: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	img, err := docker.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("build %s from images/%s: %v\n%s", tag, name, err, out)
	}
	t.Cleanup(func() { docker.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}) })
	return img.ID
}

// runContainer runs cmd in a throwaway container of image, labelled with
// what the test uses it for, and returns its output (stdout and stderr as
// they came) and exit code; -1 when it could not start (an exec format error fails the
// start itself, and is the output then).
func runContainer(t *testing.T, image, purpose string, mounts testcontainers.ContainerMounts, cmd ...string) (string, int) {
	t.Helper()
	return runImage(t, image, purpose, testcontainers.WithMounts(mounts...), testcontainers.WithCmd(cmd...))
}

// runImage is runContainer with any other options (a platform, a pull).
func runImage(t *testing.T, image, purpose string, opts ...testcontainers.ContainerCustomizer) (string, int) {
	t.Helper()
	ctx := context.Background()
	c, err := testcontainers.Run(ctx, image, append(opts,
		testcontainers.WithLabels(map[string]string{"nixcross.test": purpose}),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(2*time.Minute)),
	)...)
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		return err.Error(), -1
	}
	st, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := c.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	// testcontainers has already taken Docker's stream frames off.
	out, err := io.ReadAll(logs)
	if err != nil {
		t.Fatalf("read the output of %s: %v", image, err)
	}
	return string(out), st.ExitCode
}

// tarDir is dir's regular files as a tar stream, named relative to dir.
func tarDir(dir string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}

// resultGreeting is result/greeting in dir, the message a greeting build
// wrote, without its newline.
func resultGreeting(t *testing.T, dir string) string {
	t.Helper()
	g, err := os.ReadFile(filepath.Join(dir, "result", "greeting"))
	if err != nil {
		t.Fatalf("result/greeting: %v", err)
	}
	return strings.TrimSpace(string(g))
}
