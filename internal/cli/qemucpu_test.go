package cli

import (
	"maps"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

func TestParseQEMUCPU(t *testing.T) {
	tests := []struct {
		values []string
		want   map[string]string
		err    string
	}{
		{nil, nil, ""},
		{[]string{"aarch64-linux=cortex-a53"}, map[string]string{"aarch64-linux": "cortex-a53"}, ""},
		{[]string{"aarch64-linux=cortex-a53", "riscv64-linux=rv64,v=false,zba=true"}, map[string]string{"aarch64-linux": "cortex-a53", "riscv64-linux": "rv64,v=false,zba=true"}, ""},
		{[]string{"aarch64-linux"}, nil, "needs SYSTEM=MODEL"},
		{[]string{"aarch64-linux="}, nil, "needs SYSTEM=MODEL"},
		{[]string{"armv7l-linux=cortex-a15"}, nil, "QEMU's default CPU model for armv7l-linux"},
		{[]string{"aarch64-linux=a", "aarch64-linux=b"}, nil, "given twice"},
		{[]string{"aarch64-linux=cortex a53"}, nil, "spaces or control characters"},
		{[]string{"aarch64-linux=max\n"}, nil, "spaces or control characters"},
		{[]string{"vax-linux=x"}, nil, "vax-linux"},
	}
	for _, tt := range tests {
		got, err := parseQEMUCPU(tt.values)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one with %q", tt.values, err, tt.err)
			} else if status.KindOf(err) != status.KindUsage {
				t.Errorf("%q: kind %v, want usage", tt.values, status.KindOf(err))
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%q: %v, %v; want %v", tt.values, got, err, tt.want)
		}
	}
}

// Doctor and binfmt install say which model a handler emulates; another
// tool's handler is used as it is, and reported as not tuned.
func TestHandlerModel(t *testing.T) {
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	armv7l := system.System{Arch: "armv7l", OS: "linux"}
	for _, tt := range []struct {
		s       system.System
		handler string
		want    string
	}{
		{aarch64, "nixcross-aarch64-cpu", "CPU cortex-a72"},
		{aarch64, "qemu-aarch64", "another tool's: CPU model not tuned"},
		{aarch64, "nixcross-aarch64", "an earlier nixcross's: QEMU's default CPU model"},
		{armv7l, "nixcross-arm", "QEMU's default CPU model"},
	} {
		if got := handlerModel(tt.s, tt.handler); got != tt.want {
			t.Errorf("%s by %s: %q, want %q", tt.s, tt.handler, got, tt.want)
		}
	}
	if got := qemuModelNote(binfmt.Registration{System: aarch64, Action: binfmt.Registered, Handler: "nixcross-aarch64-cpu"}); got != ", CPU cortex-a72" {
		t.Errorf("registered: %q", got)
	}
	if got := qemuModelNote(binfmt.Registration{System: aarch64, Action: binfmt.Unregistered}); got != "" {
		t.Errorf("unregistered: %q", got)
	}
}
