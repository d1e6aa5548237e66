package build

import (
	"context"
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
