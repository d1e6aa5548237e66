package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/cache"
	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// Every problem doctor prints is counted, and only a report without one
// says builds can run.
func TestDoctorCountsEveryProblem(t *testing.T) {
	x86 := system.System{Arch: "x86_64", OS: "linux"}
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	riscv := system.System{Arch: "riscv64", OS: "linux"}
	healthy := func() doctorFacts {
		return doctorFacts{
			eng:            &engine.Engine{Endpoint: engine.Endpoint{Host: "unix:///var/run/docker.sock"}, System: x86, OSType: "linux", Version: "27.0"},
			builder:        "nixcross-builder:test",
			builderPresent: true,
			emulation: []binfmt.Status{
				{System: x86, Runnable: true, Handler: binfmt.HandlerNative},
				{System: aarch64, Runnable: true, Handler: "nixcross-aarch64"},
				{System: riscv, Diagnosis: binfmt.Diagnosis{Kind: binfmt.NoHandler}},
			},
			sandbox:    true,
			daemonFree: 20 << 30,
			volumes:    []cache.Volume{{Name: "nixcross-store-1", Size: 1 << 20}},
			wd:         "/work",
			free:       10 << 30,
			freeKnown:  true,
		}
	}
	cases := []struct {
		name   string
		change func(*doctorFacts)
		want   []string // problems, in order
	}{
		{"healthy", func(*doctorFacts) {}, nil},
		{"windows containers", func(f *doctorFacts) { f.eng.OSType = "windows" }, []string{"the daemon runs windows containers"}},
		{"no builder, no base", func(f *doctorFacts) { f.builderPresent = false }, []string{"the base image " + build.DefaultBase + " is missing"}},
		{"no builder yet, base present", func(f *doctorFacts) { f.builderPresent, f.basePresent = false, true }, nil},
		{"emulation unknown", func(f *doctorFacts) { f.emulationErr = errors.New("probe container: refused") }, []string{"emulation could not be checked: probe container: refused"}},
		{"broken handler", func(f *doctorFacts) {
			f.emulation[2].Diagnosis = binfmt.Diagnosis{Kind: binfmt.NoInterpreter, Explanation: "the handler's QEMU is missing", Hint: "nixcross binfmt install"}
		}, []string{"riscv64-linux: the handler's QEMU is missing; fix: nixcross binfmt install"}},
		// Rootless before Linux 6.7: builds cannot register, so a system
		// with no handler cannot run, and that is a problem (issue 24).
		{"cannot register", func(f *doctorFacts) {
			f.registerErr = status.Environment(errors.New("rootless Docker cannot register binfmt_misc handlers on Linux 6.1"), "register QEMU on the host")
		}, []string{"riscv64-linux cannot run: rootless Docker cannot register binfmt_misc handlers on Linux 6.1; fix: register QEMU on the host"}},
		{"cache listing failed", func(f *doctorFacts) { f.volumes, f.volumesErr = nil, errors.New("list volumes: refused") }, []string{"the cache volumes could not be listed: list volumes: refused"}},
		{"disk full", func(f *doctorFacts) { f.free = 1 << 20 }, []string{"less than 1 GiB free"}},
		{"daemon disk full", func(f *doctorFacts) { f.daemonFree = 1 << 30 }, []string{"less than 2.0 GiB free on the daemon's disk"}},
		{"daemon disk unknown", func(f *doctorFacts) { f.daemonFreeErr = errors.New("df exited 1") }, nil},
		// --sandbox is optional: doctor says, and counts no problem.
		{"no sandbox", func(f *doctorFacts) { f.sandbox, f.sandboxWhy = false, "the kernel refused" }, nil},
		{"sandbox unknown", func(f *doctorFacts) { f.sandboxErr = errors.New("probe: gone") }, nil},
		{"three at once", func(f *doctorFacts) {
			f.eng.OSType = "windows"
			f.volumesErr = errors.New("gone")
			f.free = 0
		}, []string{"windows containers", "cache volumes could not be listed: gone", "less than 1 GiB"}},
	}
	for _, c := range cases {
		f := healthy()
		eng := *f.eng
		f.eng = &eng
		c.change(&f)
		var out bytes.Buffer
		n := writeDoctor(&out, f)
		var printed []string
		for _, line := range strings.Split(out.String(), "\n") {
			if p, ok := strings.CutPrefix(line, "problem: "); ok {
				printed = append(printed, p)
			}
		}
		if n != len(c.want) || len(printed) != len(c.want) {
			t.Errorf("%s: %d problems counted, %d printed, want %d:\n%s", c.name, n, len(printed), len(c.want), out.String())
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(printed[i], w) {
				t.Errorf("%s: problem %d is %q, want it to mention %q", c.name, i, printed[i], w)
			}
		}
	}
	var out bytes.Buffer
	f := healthy()
	f.volumesErr = errors.New("list volumes: refused")
	writeDoctor(&out, f)
	if !strings.Contains(out.String(), "cache volumes     unknown: list volumes: refused") {
		t.Errorf("the cache listing error is not shown:\n%s", out.String())
	}
}

// The sandbox line says what doctor found.
func TestDoctorSandboxLine(t *testing.T) {
	eng := &engine.Engine{Endpoint: engine.Endpoint{Host: "unix:///var/run/docker.sock"}, OSType: "linux"}
	for _, c := range []struct {
		f    doctorFacts
		want string
	}{
		{doctorFacts{eng: eng, builderPresent: true, sandbox: true}, "sandbox           available (--sandbox)"},
		{doctorFacts{eng: eng, builderPresent: true, sandboxWhy: "the kernel refused the sandbox's namespaces (unshare failed)"}, "sandbox           unavailable: the kernel refused the sandbox's namespaces (unshare failed); --sandbox needs"},
		{doctorFacts{eng: eng, builderPresent: true, sandboxErr: errors.New("probe: gone")}, "sandbox           unknown: probe: gone"},
		{doctorFacts{eng: eng, basePresent: true}, "sandbox           not checked (needs the builder image)"},
	} {
		var out bytes.Buffer
		writeDoctor(&out, c.f)
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("want %q in:\n%s", c.want, out.String())
		}
	}
}

// TestDoctorNamesEmulation: i686 on an x86_64 daemon is native even where
// the daemon cannot name a handler (rootless), and a runnable system
// whose handler is unknown says so instead of "emulated by ".
func TestDoctorNamesEmulation(t *testing.T) {
	x86 := system.System{Arch: "x86_64", OS: "linux"}
	f := doctorFacts{
		eng:            &engine.Engine{Endpoint: engine.Endpoint{Host: "unix:///run/user/1000/docker.sock"}, System: x86, OSType: "linux", Rootless: true},
		builderPresent: true, sandbox: true, freeKnown: true, free: 10 << 30, daemonFree: 10 << 30,
		emulation: []binfmt.Status{
			{System: system.System{Arch: "i686", OS: "linux"}, Runnable: true},
			{System: system.System{Arch: "aarch64", OS: "linux"}, Runnable: true},
		},
	}
	var out bytes.Buffer
	if n := writeDoctor(&out, f); n != 0 {
		t.Errorf("%d problems:\n%s", n, out.String())
	}
	for _, want := range []string{"i686-linux         native", "aarch64-linux      emulated (by a handler this daemon cannot name)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

// TestDoctorJSON: doctor --json carries the facts and the same problems
// the text report counts.
func TestDoctorJSON(t *testing.T) {
	x86 := system.System{Arch: "x86_64", OS: "linux"}
	f := doctorFacts{
		eng:            &engine.Engine{Endpoint: engine.Endpoint{Host: "unix:///var/run/docker.sock", Source: "default socket"}, System: x86, OSType: "windows", Product: "Docker", Version: "28.5"},
		builderPresent: true, sandbox: true, freeKnown: true, free: 1 << 20, daemonFree: 10 << 30,
		emulation: []binfmt.Status{{System: x86, Runnable: true, Handler: binfmt.HandlerNative}},
	}
	var out bytes.Buffer
	n, err := doctorJSON(&out, f)
	var doc struct {
		doctorDocument
		Emulation []map[string]any `json:"emulation"` // Status writes a system by name only
	}
	if jerr := json.Unmarshal(out.Bytes(), &doc); err != nil || jerr != nil {
		t.Fatalf("%v %v:\n%s", err, jerr, out.String())
	}
	if n != 2 || len(doc.Problems) != 2 || doc.OK || len(doc.Emulation) != 1 || doc.Engine != "Docker" || doc.System != "x86_64-linux" || doc.Sandbox == nil || !*doc.Sandbox || *doc.FreeBytes != 1<<20 {
		t.Errorf("%d problems, document %+v", n, doc)
	}
}

func TestParseDFAvail(t *testing.T) {
	out := "Filesystem     1024-blocks      Used Available Capacity Mounted on\noverlay          263174148 182846956  69452764      73% /\n"
	if n, err := parseDFAvail(out); err != nil || n != 69452764<<10 {
		t.Errorf("%d %v", n, err)
	}
	if _, err := parseDFAvail("nonsense"); err == nil {
		t.Error("no error on nonsense")
	}
}

// TestFleetRunsAs: a system routed to a host of its own architecture is
// native there; any other host emulates it.
func TestFleetRunsAs(t *testing.T) {
	arm := system.System{Arch: "aarch64", OS: "linux"}
	if got := fleetRunsAs(arm, doctorDocument{System: "aarch64-linux"}); got != "native" {
		t.Errorf("aarch64 on aarch64: %q", got)
	}
	if got := fleetRunsAs(arm, doctorDocument{System: "x86_64-linux"}); !strings.HasPrefix(got, "emulated") {
		t.Errorf("aarch64 on x86_64: %q", got)
	}
	i686 := system.System{Arch: "i686", OS: "linux"}
	if got := fleetRunsAs(i686, doctorDocument{System: "x86_64-linux"}); got != "native" {
		t.Errorf("i686 on x86_64: %q", got)
	}
}
