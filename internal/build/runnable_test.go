package build

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestRunnable: a system the probe runs needs no QEMU (native when the
// CPU's compatibility mode ran it); one it does not run gets QEMU held
// and released; one that still does not run fails with the diagnosis.
func TestRunnable(t *testing.T) {
	cases := []struct {
		system       string
		probeCodes   []int
		wantNative   bool
		wantEmulator Emulator
		wantHeld     bool
		wantErr      string
		borrowed     bool
	}{
		{"i686-linux", nil, true, EmulatorNone, false, "", false},
		{"aarch64-linux", nil, false, EmulatorHost, false, "", false},
		{"aarch64-linux", []int{1}, false, EmulatorNixcross, true, "", false},
		{"riscv64-linux", []int{1, 1}, false, EmulatorNone, true, "cannot run riscv64-linux binaries on the Docker host even after registering QEMU: no handler", false},
		// The probe ran on another build's temporary registration: this
		// build holds its own, or that build's end would take it away.
		{"aarch64-linux", nil, false, EmulatorNixcross, true, "", true},
		{"i686-linux", nil, true, EmulatorNone, false, "", true},
	}
	for _, c := range cases {
		name := c.system + strings.Repeat("+", len(c.probeCodes))
		if c.borrowed {
			name += "-borrowed"
		}
		t.Run(name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			d.succeed()
			d.probeCodes = c.probeCodes
			r, _, emu := d.runner()
			emu.borrowed = c.borrowed
			results, err := r.Run(context.Background(), request(t, out, sys(t, c.system)), localFlake(flake))
			res := results[0]
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || status.HintOf(err) != "install one" {
					t.Errorf("err = %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Native != c.wantNative || res.Emulator != c.wantEmulator {
				t.Errorf("native %v emulator %q, want %v %q", res.Native, res.Emulator, c.wantNative, c.wantEmulator)
			}
			if (len(emu.held) == 1) != c.wantHeld || len(emu.released) != len(emu.held) {
				t.Errorf("held %v, released %d times", emu.held, len(emu.released))
			}
		})
	}
}

// TestRunnableModel: a system that runs on nixcross's own handler, held by
// no build, is held and reported as nixcross's; an emulated build reports
// the chosen CPU model, or --qemu-cpu's, written into its container where
// the handler's wrapper reads it.
func TestRunnableModel(t *testing.T) {
	cases := []struct {
		name       string
		probeCodes []int
		unheld     bool
		installed  bool
		override   string
		wantModel  string
		wantHeld   bool
	}{
		{"registered", []int{1}, false, false, "", "cortex-a72", true},
		{"unheld nixcross entry", nil, true, false, "", "cortex-a72", true},
		{"binfmt install", nil, false, true, "", "cortex-a72", false},
		{"host's handler", nil, false, false, "", "", false},
		{"--qemu-cpu", []int{1}, false, false, "cortex-a53", "cortex-a53", true},
		{"--qemu-cpu on binfmt install", nil, false, true, "cortex-a53", "cortex-a53", false},
		{"--qemu-cpu on a host's handler", nil, false, false, "cortex-a53", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flake, out := flakeDir(t)
			d := newDaemon()
			d.succeed()
			d.probeCodes = c.probeCodes
			r, _, emu := d.runner()
			emu.unheld, emu.installed = c.unheld, c.installed
			req := request(t, out, sys(t, "aarch64-linux"))
			if c.override != "" {
				req.QEMUCPU = map[string]string{"aarch64-linux": c.override}
			}
			results, err := r.Run(context.Background(), req, localFlake(flake))
			if err != nil {
				t.Fatal(err)
			}
			if got := results[0].QEMUCPU; got != c.wantModel {
				t.Errorf("model %q, want %q", got, c.wantModel)
			}
			if (len(emu.held) == 1) != c.wantHeld {
				t.Errorf("held %v", emu.held)
			}
			wrote := false
			for _, m := range d.made() {
				wrote = wrote || slices.Contains(m.copied, "/")
			}
			if wrote != (c.wantModel == c.override && c.override != "") {
				t.Errorf("--qemu-cpu %q written into the container: %v", c.override, wrote)
			}
		})
	}
}
