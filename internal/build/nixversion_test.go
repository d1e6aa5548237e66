package build

import (
	"reflect"
	"testing"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/system"
)

func TestContainerSettingsTurnOffSyscallFilterUnderEmulation(t *testing.T) {
	amd64 := system.System{Arch: "x86_64", OS: "linux"}
	arm64 := system.System{Arch: "aarch64", OS: "linux"}
	i686 := system.System{Arch: "i686", OS: "linux"}
	for _, tc := range []struct {
		name   string
		image  system.System
		daemon system.System
		want   []nix.Option
	}{
		{"native image", amd64, amd64, nil},
		{"unknown platform", system.System{}, amd64, nil},
		{"the CPU runs it itself", i686, amd64, nil},
		{"amd64 image on an arm64 daemon", amd64, arm64, []nix.Option{{Name: "filter-syscalls", Value: "false"}}},
	} {
		got := containerSettings(engine.Image{Ref: "img", System: tc.image}, tc.daemon)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
