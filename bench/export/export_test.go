// Package export benchmarks closure export against its two yardsticks, in
// one run on one machine: `docker cp` of the same store path (what the
// legacy helper did) and a local `cp -a` of the same tree (the disk's own
// limit). See README.md for the command and the figures.
package export

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/hoststore"
	"github.com/nixcross/nixcross/internal/system"
)

const (
	image     = "debian:bookworm-slim"
	nardumpIn = "/usr/local/bin/nardump"
	// The tree: 5000 files in 50 directories; every 50th file is 2 MiB and
	// the rest 2-10 KiB, about 230 MiB in all, so that both the per-file
	// cost and raw throughput count, as in a real closure.
	genScript = `set -e
d="$1"
mkdir -p "$d"
i=0
while [ $i -lt 5000 ]; do
  sub="$d/dir$((i / 100))"
  [ -d "$sub" ] || mkdir "$sub"
  if [ $((i % 50)) -eq 0 ]; then n=2097152; else n=$((2048 + (i * 37) % 8192)); fi
  head -c $n /dev/urandom > "$sub/file$i"
  i=$((i + 1))
done
chmod 0555 "$d"/dir0/*
ln -s ../dir1/file100 "$d/dir0/relative-link"
ln -s "$d/dir2" "$d/absolute-link"
`
)

// storePath is the benchmark's store path, with a valid nixbase32 hash.
func storePath() string {
	sum := sha256.Sum256([]byte("nixcross export benchmark"))
	return "/nix/store/" + nixbase32.EncodeToString(sum[:20]) + "-bench"
}

func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	api := connect(b)
	id := startContainer(b, ctx, api)
	installNardump(b, ctx, api, id)

	sp := storePath()
	start := time.Now()
	if _, err := execOutput(ctx, api, id, []string{"sh", "-c", genScript, "gen", sp}); err != nil {
		b.Fatalf("generate tree: %v", err)
	}
	b.Logf("generated %s in the container in %v", sp, time.Since(start).Round(time.Millisecond))
	info, err := execOutput(ctx, api, id, []string{nardumpIn, "-info", sp})
	if err != nil {
		b.Fatalf("path-info: %v", err)
	}
	c, err := closure.ParsePathInfo(info)
	if err != nil {
		b.Fatal(err)
	}
	src := execSource{api: api, id: id}

	// The producer's own ceiling: the NAR stream alone, read and dropped.
	dumpSecs := timeIt(b, func() error {
		stream, wait, err := src.Dump(ctx, []string{sp})
		if err != nil {
			return err
		}
		_, cerr := io.Copy(io.Discard, stream)
		stream.Close()
		return errors.Join(cerr, wait())
	})

	// The fastest stream the Docker API offers out of a container: the
	// daemon's own tar of the path (what `docker cp` reads), read and
	// dropped. No shim hop, no process in the container: if even this is
	// slower than cp -a, no export through the API can match the disk.
	tarSecs := timeIt(b, func() error {
		res, err := api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: sp})
		if err != nil {
			return err
		}
		_, cerr := io.Copy(io.Discard, res.Content)
		return errors.Join(cerr, res.Content.Close())
	})

	// Two NAR streams at once, to see whether splitting a closure over
	// parallel streams raises the ceiling or only shares it.
	parallelSecs := timeIt(b, func() error {
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				stream, wait, err := src.Dump(ctx, []string{sp})
				if err != nil {
					errs <- err
					return
				}
				_, cerr := io.Copy(io.Discard, stream)
				stream.Close()
				errs <- errors.Join(cerr, wait())
			}()
		}
		return errors.Join(<-errs, <-errs)
	})

	// A first, untimed export checks the result and is the source of the
	// cp -a rounds.
	warm, err := hoststore.Open(filepath.Join(b.TempDir(), "warm"), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := closure.Export(ctx, warm, src, c, closure.ExportOptions{}); err != nil {
		b.Fatal(err)
	}
	treeBytes, files := treeSize(b, warm.Dir(sp))

	// The same NAR saved on the host, to time the client alone: decoding,
	// hashing and writing without a producer sharing the CPUs.
	narFile := filepath.Join(b.TempDir(), "bench.nar")
	saveNAR(b, ctx, src, sp, narFile)

	var exportSecs, localSecs, dockerCpSecs, cpSecs []float64
	var peakRSS, allocs int64
	exportLocalTo := func(dir string) {
		s, err := hoststore.Open(filepath.Join(dir, "local"), nil)
		if err != nil {
			b.Fatal(err)
		}
		localSecs = append(localSecs, timeIt(b, func() error {
			_, err := closure.Export(ctx, s, fileSource(narFile), c, closure.ExportOptions{})
			return err
		}))
	}
	exportTo := func(dir string) {
		s, err := hoststore.Open(filepath.Join(dir, "out"), nil)
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS(b)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		t0 := time.Now()
		st, err := closure.Export(ctx, s, src, c, closure.ExportOptions{})
		exportSecs = append(exportSecs, time.Since(t0).Seconds())
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		peakRSS = max(peakRSS, vmHWM(b))
		allocs = max(allocs, int64(after.TotalAlloc-before.TotalAlloc))
		if st.Bytes != c.NarBytes() {
			b.Fatalf("exported %d of %d bytes", st.Bytes, c.NarBytes())
		}
	}
	dockerCpTo := func(dir string) {
		if _, err := exec.LookPath("docker"); err != nil {
			return
		}
		dst := filepath.Join(dir, "docker-cp")
		dockerCpSecs = append(dockerCpSecs, timeIt(b, func() error {
			out, err := exec.Command("docker", "cp", "-q", id+":"+sp, dst).CombinedOutput()
			if err != nil {
				return fmt.Errorf("docker cp: %v: %s", err, out)
			}
			return nil
		}))
		if n, f := treeSize(b, dst); n != treeBytes || f != files {
			b.Fatalf("docker cp copied %d bytes in %d files, export %d in %d", n, f, treeBytes, files)
		}
	}
	cpTo := func(dir string) {
		cpSecs = append(cpSecs, timeIt(b, func() error {
			out, err := exec.Command("cp", "-a", warm.Dir(sp), filepath.Join(dir, "cp-a")).CombinedOutput()
			if err != nil {
				return fmt.Errorf("cp -a: %v: %s", err, out)
			}
			return nil
		}))
	}

	// The disk's speed drifts (other work, writeback, discards), so the
	// three copies take turns over several rounds, each starting with no
	// dirty data, and the medians are compared. Nothing is deleted until
	// the end: deletions would slow whichever copy came next.
	steps := []func(dir string){exportTo, dockerCpTo, cpTo, exportLocalTo}
	settle(b)
	b.ResetTimer()
	b.StopTimer()
	for round := range rounds * b.N {
		dir := b.TempDir()
		for i := range steps {
			syscall.Sync()
			steps[(i+round)%len(steps)](dir)
		}
	}

	mb := float64(treeBytes) / 1e6
	exp, loc, dcp, cpa := median(exportSecs), median(localSecs), median(dockerCpSecs), median(cpSecs)
	b.ReportMetric(exp*1e9, "ns/op") // the median export, not the sum of the rounds
	b.ReportMetric(mb, "tree-MB")
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(c.NarBytes())/1e6/dumpSecs, "nardump-MB/s")
	b.ReportMetric(2*float64(c.NarBytes())/1e6/parallelSecs, "nardump2x-MB/s")
	b.ReportMetric(mb/tarSecs, "tarstream-MB/s")
	// The floor of export/cpa for any design that streams through the
	// API: the fastest stream alone, with nothing written, against cp -a.
	b.ReportMetric(tarSecs/cpa, "tarstream/cpa")
	b.ReportMetric(mb/exp, "export-MB/s")
	if dcp > 0 {
		b.ReportMetric(mb/dcp, "dockercp-MB/s")
		b.ReportMetric(exp/dcp, "export/dockercp")
	}
	b.ReportMetric(mb/loc, "local-MB/s")
	b.ReportMetric(loc/cpa, "local/cpa")
	b.ReportMetric(mb/cpa, "cpa-MB/s")
	b.ReportMetric(exp/cpa, "export/cpa")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(allocs)/(1<<20), "alloc-MiB")
	b.Logf("seconds per round: export %.2f, docker cp %.2f, cp -a %.2f, export of the saved NAR %.2f",
		exportSecs, dockerCpSecs, cpSecs, localSecs)
}

// rounds of the three copies per iteration; medians are reported.
const rounds = 3

// settleFor is how long the rounds wait for earlier deletions to age.
// ext4 without a journal (this project's VMs) will not reuse an inode
// freed in the last 60 seconds, or the last 360 while its inode table
// block is dirty, which creating files next to it makes it; each
// allocation then steps over every such inode. Right after a test run had
// deleted its temporaries, that made every file creation, cp -a's as much
// as ours, up to 8x slower, and the comparison measured the filesystem's
// bookkeeping instead of the copies.
var settleFor = flag.Duration("settle", 370*time.Second, "wait this long after a sync before timing, so that recent deletions do not slow file creation (0 to skip)")

func settle(b *testing.B) {
	if *settleFor <= 0 {
		return
	}
	syscall.Sync()
	b.Logf("waiting %v for recently freed inodes to age (-settle)", *settleFor)
	time.Sleep(*settleFor)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func saveNAR(b *testing.B, ctx context.Context, src closure.Source, sp, file string) {
	b.Helper()
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	stream, wait, err := src.Dump(ctx, []string{sp})
	if err != nil {
		b.Fatal(err)
	}
	_, cerr := io.Copy(f, stream)
	stream.Close()
	if err := errors.Join(cerr, wait(), f.Close()); err != nil {
		b.Fatalf("save NAR: %v", err)
	}
}

// fileSource replays a saved NAR.
type fileSource string

func (f fileSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	r, err := os.Open(string(f))
	return r, func() error { return nil }, err
}

func timeIt(b *testing.B, f func() error) float64 {
	b.Helper()
	t0 := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0).Seconds()
}

// treeSize counts the bytes and regular files under dir.
func treeSize(b *testing.B, dir string) (int64, int) {
	b.Helper()
	var n int64
	var files int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		files++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n, files
}

func connect(b *testing.B) *client.Client {
	b.Helper()
	api, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		b.Skipf("no Docker client: %v", err)
	}
	b.Cleanup(func() { api.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		b.Skipf("no Docker daemon reachable: %v", err)
	}
	if _, err := api.ImageInspect(ctx, image); err != nil {
		b.Skipf("image %s not available locally (nothing is pulled): %v", image, err)
	}
	return api
}

func startContainer(b *testing.B, ctx context.Context, api *client.Client) string {
	b.Helper()
	res, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: image,
			Cmd:   []string{"sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"},
			// Not nixcross.managed: `nixcross clean` and the integration
			// tests must not remove it from under a running benchmark.
			Labels: map[string]string{"nixcross.bench": "export"},
		},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		b.Fatalf("create container: %v", err)
	}
	b.Cleanup(func() {
		_, err := api.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			b.Errorf("remove container: %v", err)
		}
	})
	if _, err := api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		b.Fatalf("start container: %v", err)
	}
	return res.ID
}

// installNardump builds the helper for the daemon's architecture and
// copies it into the container.
func installNardump(b *testing.B, ctx context.Context, api *client.Client, id string) {
	b.Helper()
	info, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		b.Fatalf("docker info: %v", err)
	}
	sys, err := system.FromDocker(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		b.Skip(err)
	}
	goarch, goarm := sys.GOARCH()
	bin := filepath.Join(b.TempDir(), "nardump")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./nardump")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build nardump: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	tw.WriteHeader(&tar.Header{Name: filepath.Base(nardumpIn), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	_, err = api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: filepath.Dir(nardumpIn), Content: &archive})
	if err != nil {
		b.Fatalf("copy nardump into the container: %v", err)
	}
}

// execSource is closure.TarSource the way nixcross runs it: one exec per
// NAR stream, its stdout demultiplexed from the hijacked connection as it
// arrives, and the daemon's tar for paths of 16 MiB and more.
type execSource struct {
	api *client.Client
	id  string
}

func (s execSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	return execStream(ctx, s.api, s.id, append([]string{nardumpIn}, paths...))
}

// Tar is the daemon's tar of one path, which nixcross reads for large
// paths (closure.TarSource), through the same engine call.
func (s execSource) Tar(ctx context.Context, storePath string) (io.ReadCloser, error) {
	return (&engine.Engine{API: s.api}).Archive(ctx, s.id, storePath)
}

// execStream is nixcross's own exec plumbing (engine.ExecStream), so the
// benchmark measures the path a build takes.
func execStream(ctx context.Context, api *client.Client, id string, cmd []string) (io.ReadCloser, func() error, error) {
	var stderr bytes.Buffer
	eng := &engine.Engine{API: api}
	return eng.ExecStream(ctx, id, engine.ExecSpec{Cmd: cmd, Stderr: &stderr})
}

func execOutput(ctx context.Context, api *client.Client, id string, cmd []string) ([]byte, error) {
	stream, wait, err := execStream(ctx, api, id, cmd)
	if err != nil {
		return nil, err
	}
	out, cerr := io.ReadAll(stream)
	stream.Close()
	return out, errors.Join(cerr, wait())
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux 4.0+),
// so the figure is the export's peak rather than the setup's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS, it covers the whole benchmark: %v", err)
	}
}

func vmHWM(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Logf("no peak RSS: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
