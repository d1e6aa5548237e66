package nix

import (
	"slices"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

func TestRebuildCommand(t *testing.T) {
	s := system.System{Arch: "aarch64", OS: "linux"}
	got := RebuildCommand(Installable{Flake: "/src", Attr: "hello"}, s, BuildFlags{Options: []Option{{"substituters", ""}}, Extra: []string{"--show-trace"}})
	want := []string{"nix", "build", "--rebuild", "--json", "--no-write-lock-file", "--no-link", "--option", "extra-platforms", "aarch64-linux", "-L", "--keep-failed",
		"--option", "substituters", "", "--show-trace", "/src#packages.aarch64-linux.hello"}
	if !slices.Equal(got, want) {
		t.Errorf("RebuildCommand =\n%q\nwant\n%q", got, want)
	}
}

func TestNotDeterministic(t *testing.T) {
	const out = "/nix/store/q3cv1ax3ymzy3nbdpzs6ssdwnhdmvnpm-clock"
	cases := []struct {
		name, log string
		ok        bool
	}{
		{"plain", "checking outputs of '/nix/store/abc-clock.drv'...\nerror: derivation '/nix/store/abc-clock.drv' may not be deterministic: output '" + out + "' differs from '" + out + ".check'\n", true},
		{"coloured", "\x1b[31;1merror:\x1b[0m derivation '\x1b[35;1m/nix/store/abc-clock.drv\x1b[0m' may not be deterministic: output '\x1b[35;1m" + out + "\x1b[0m' differs from '\x1b[35;1m" + out + ".check\x1b[0m'", true},
		{"other failure", "error: builder for '/nix/store/abc-clock.drv' failed with exit code 1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, chk, ok := NotDeterministic(c.log)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (o != out || chk != out+CheckSuffix) {
				t.Errorf("got %q, %q", o, chk)
			}
		})
	}
}
