// Package release owns how nixcross is shipped: a binary per supported host
// (stamped with version, commit and date), packed with shell completions and
// man pages generated from the command tree into one archive per host, and a
// checksums file. scripts/release is its command; `make release-snapshot`
// runs it. It builds and never publishes.
//
// Why not goreleaser, the usual tool for this: measured here on 2026-11-28,
// goreleaser v2.18.2 requires Go 1.27.1 (this project and its CI have
// 1.26.8) and 369 modules (60 direct); no prebuilt binary can be downloaded
// offline, so CI would first fetch a toolchain and compile all of that. What
// this project needs from it is five cross-compiles, tar/zip and SHA-256,
// which the standard library does in a few hundred lines. The archive names
// and checksums.txt follow goreleaser's defaults, so switching later changes
// nothing for users or for the GitHub Action.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Target is one host the release ships a binary for.
type Target struct{ OS, Arch string }

// Targets are the hosts every release covers.
var Targets = []Target{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"},
}

func (t Target) String() string { return t.OS + "/" + t.Arch }

// Binary is the executable's name inside the archive.
func (t Target) Binary() string {
	if t.OS == "windows" {
		return "nixcross.exe"
	}
	return "nixcross"
}

// ArchiveName is t's release file, goreleaser's default name:
// nixcross_<version without v>_<os>_<arch>.tar.gz (.zip for Windows).
func ArchiveName(version string, t Target) string {
	ext := ".tar.gz"
	if t.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("nixcross_%s_%s_%s%s", strings.TrimPrefix(version, "v"), t.OS, t.Arch, ext)
}

// ChecksumsFile lists every archive's SHA-256, in sha256sum's format.
const ChecksumsFile = "checksums.txt"

// Stamp is what a release binary reports in `nixcross version`.
type Stamp struct {
	Version string // v1.2.3, or v1.2.3-SNAPSHOT-<commit> for a local build
	Commit  string // full commit hash
	Date    time.Time
}

// stampPackage holds the variables -X sets.
const stampPackage = "github.com/nixcross/nixcross/internal/cli"

// LDFlags strip the symbol table and debug info (a third of the size) and
// stamp s into the binary.
func (s Stamp) LDFlags() string {
	return fmt.Sprintf("-s -w -X %[1]s.Version=%[2]s -X %[1]s.Commit=%[3]s -X %[1]s.Date=%[4]s",
		stampPackage, s.Version, s.Commit, s.Date.UTC().Format(time.RFC3339))
}

// Options say what to build and where.
type Options struct {
	Root    string // module root (go.mod, README.md)
	Dist    string // output directory, emptied first
	Go      string // the go command ("go" when empty)
	Stamp   Stamp
	Targets []Target
	Log     io.Writer // one line per step; nil: nowhere
}

// Build cross-compiles every target, packs each binary with README.md, the
// user docs it links to (docs/, so its links resolve in an unpacked
// archive; links to what it does not carry go to the repository at the
// commit) and the generated completions and man pages into its archive in
// Dist, and writes checksums.txt.
// It returns the archives' paths.
func Build(ctx context.Context, o Options) ([]string, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.RemoveAll(o.Dist); err != nil {
		return nil, fmt.Errorf("empty %s: %w", o.Dist, err)
	}
	if err := os.MkdirAll(o.Dist, 0o755); err != nil {
		return nil, err
	}
	docs, err := Docs(o.Stamp)
	if err != nil {
		return nil, fmt.Errorf("generate completions and man pages: %w", err)
	}
	readme, err := os.ReadFile(filepath.Join(o.Root, "README.md"))
	if err != nil {
		return nil, err
	}
	userDocs, err := userDocs(o.Root)
	if err != nil {
		return nil, err
	}
	extra := append(append([]File{{Name: "README.md", Mode: 0o644, Data: readme}}, userDocs...), docs...)
	extra = absoluteLinks(extra, o.Stamp.Commit)

	var archives []string
	for _, t := range o.Targets {
		bin := filepath.Join(o.Dist, "build", t.OS+"_"+t.Arch, t.Binary())
		fmt.Fprintf(o.Log, "release: build %s\n", t)
		if err := compile(ctx, o, t, bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		files := append([]File{{Name: t.Binary(), Mode: 0o755, Data: data}}, extra...)
		name := filepath.Join(o.Dist, ArchiveName(o.Stamp.Version, t))
		fmt.Fprintf(o.Log, "release: pack %s\n", filepath.Base(name))
		if err := writeArchive(name, files, o.Stamp.Date); err != nil {
			return nil, fmt.Errorf("pack %s: %w", filepath.Base(name), err)
		}
		archives = append(archives, name)
	}
	if err := writeChecksums(filepath.Join(o.Dist, ChecksumsFile), archives); err != nil {
		return nil, err
	}
	return archives, nil
}

func compile(ctx context.Context, o Options, t Target, out string) error {
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-ldflags", o.Stamp.LDFlags(), "-o", out, "./cmd/nixcross")
	cmd.Dir = o.Root
	// CGO off: one static binary per target, cross-compiled from any host.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", t, err, msg)
	}
	return nil
}

// File is one member of an archive.
type File struct {
	Name string // slash-separated, relative
	Mode os.FileMode
	Data []byte
}

// writeArchive packs files as .zip or .tar.gz by name. Every entry gets the
// same time and owner, so the same commit gives the same bytes.
func writeArchive(name string, files []File, mtime time.Time) error {
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(name, ".zip") {
		err = writeZip(&buf, files, mtime)
	} else {
		err = writeTarGz(&buf, files, mtime)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

func writeTarGz(w io.Writer, files []File, mtime time.Time) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: int64(f.Mode.Perm()), Size: int64(len(f.Data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []File, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(f.Mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeChecksums writes "<sha256>  <name>" per archive, sorted by name,
// which `sha256sum -c` and goreleaser's checksums.txt both use.
func writeChecksums(path string, archives []string) error {
	archives = append([]string(nil), archives...)
	sort.Slice(archives, func(i, j int) bool { return filepath.Base(archives[i]) < filepath.Base(archives[j]) })
	var lines []string
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+filepath.Base(a))
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// userDocs are the Markdown pages under docs/, in name order: what
// README.md links to for using nixcross.
func userDocs(root string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".md" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, File{Name: filepath.ToSlash(rel), Mode: 0o644, Data: data})
		return nil
	})
	return out, err
}
