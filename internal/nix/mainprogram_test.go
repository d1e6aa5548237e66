package nix

import (
	"slices"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

func TestMainProgramCommand(t *testing.T) {
	s := system.System{Arch: "aarch64", OS: "linux"}
	got := MainProgramCommand(Installable{Flake: "/src", Attr: "hello"}, s, BuildFlags{Options: []Option{{"substituters", ""}}, Extra: []string{"--impure"}})
	want := []string{"nix", "eval", "--json", "--no-write-lock-file", "--option", "extra-platforms", "aarch64-linux",
		"--option", "substituters", "", "/src#packages.aarch64-linux.hello", "--apply", "p: p.meta.mainProgram or null"}
	if !slices.Equal(got, want) {
		t.Errorf("MainProgramCommand =\n%q\nwant\n%q", got, want)
	}
	for out, want := range map[string]string{"null\n": "", `"hello"` + "\n": "hello"} {
		if got, err := ParseMainProgram([]byte(out)); err != nil || got != want {
			t.Errorf("ParseMainProgram(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	if _, err := ParseMainProgram([]byte("warning: …")); err == nil {
		t.Error("ParseMainProgram accepted text that is not JSON")
	}
}
