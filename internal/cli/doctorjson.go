package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"strings"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/cache"
)

// doctorDocument is `doctor --json`: the facts doctor judged and the
// problems it found, each with its fix, as the text report words them.
type doctorDocument struct {
	Endpoint    string          `json:"endpoint"`
	Source      string          `json:"endpointSource"`
	Engine      string          `json:"engine,omitempty"`
	Version     string          `json:"version,omitempty"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	System      string          `json:"system,omitempty"`
	Rootless    bool            `json:"rootless"`
	Builder     string          `json:"builderImage,omitempty"`
	BuilderHere bool            `json:"builderImagePresent"`
	Emulation   []binfmt.Status `json:"emulation,omitempty"`
	Sandbox     *bool           `json:"sandbox,omitempty"` // nil: not checked
	SandboxWhy  string          `json:"sandboxWhy,omitempty"`
	Volumes     []cache.Volume  `json:"cacheVolumes"`
	FreeBytes   *int64          `json:"freeBytes,omitempty"`
	DaemonFree  *int64          `json:"daemonFreeBytes,omitempty"`
	Problems    []string        `json:"problems"`
	OK          bool            `json:"ok"`
	Error       string          `json:"error,omitempty"`
	// Fleet is every host of the fleet file, checked as the default one.
	Fleet []fleetHostDocument `json:"fleet,omitempty"`
}

// doctorJSON judges f as the text report does and writes the document.
func doctorJSON(w io.Writer, f doctorFacts) (problems int, err error) {
	d, problems := doctorDoc(f, io.Discard)
	return problems, writeJSON(w, d)
}

// doctorDoc judges f (writeDoctor is the one place for that), writing the
// text report to report: the document and how many problems it found.
func doctorDoc(f doctorFacts, report io.Writer) (doctorDocument, int) {
	var text bytes.Buffer
	problems := writeDoctor(io.MultiWriter(report, &text), f)
	d := doctorDocument{
		Endpoint: f.eng.Endpoint.Host, Source: f.eng.Endpoint.Source, Engine: f.eng.Product, Version: f.eng.Version,
		APIVersion: f.eng.APIVersion, System: f.eng.System.String(), Rootless: f.eng.Rootless,
		Builder: f.builder, BuilderHere: f.builderPresent, Emulation: f.emulation, Volumes: f.volumes,
		Problems: []string{}, OK: problems == 0,
	}
	if f.builderPresent && f.sandboxErr == nil {
		d.Sandbox, d.SandboxWhy = &f.sandbox, f.sandboxWhy
	}
	if d.Volumes == nil {
		d.Volumes = []cache.Volume{}
	}
	if f.freeKnown {
		d.FreeBytes = &f.free
	}
	if f.builderPresent && f.daemonFreeErr == nil {
		d.DaemonFree = &f.daemonFree
	}
	for _, line := range strings.Split(text.String(), "\n") {
		if p, ok := strings.CutPrefix(line, "problem: "); ok {
			d.Problems = append(d.Problems, p)
		}
	}
	return d, problems
}

// writeJSON writes v as one indented document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// versionDocument is `version --json`.
type versionDocument struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func currentVersion() versionDocument {
	v, _, _ := strings.Cut(versionLine(), " ")
	return versionDocument{Version: v, Commit: Commit, Date: Date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}
