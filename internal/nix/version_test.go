package nix

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		out       string
		want      string
		supported bool
	}{
		{"nix (Nix) 2.8.0\n", "2.8.0", false},            // Debian bookworm
		{"nix (Nix) 2.18.1\n", "2.18.1", true},           // Ubuntu 24.04
		{"nix (Nix) 2.26.3\n", "2.26.3", true},           // Debian trixie, the builder image
		{"nix (Nix) 2.17.1\n", "2.17.1", false},          // one below the floor
		{"nix (Nix) 2.18\n", "2.18.0", true},             // no patch level
		{"nix (Lix, like Nix) 2.93.0\n", "2.93.0", true}, // Lix
		{"nix (Determinate Nix 3.6.2) 2.29.0\n", "2.29.0", true},
		{"nix (Nix) 2.31.0pre20250712_0123abcd\n", "2.31.0", true},
		{"nix (Nix) 3.0.0\n", "3.0.0", true},
	} {
		v, err := ParseVersion(tc.out)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.out, err)
			continue
		}
		if v.String() != tc.want {
			t.Errorf("ParseVersion(%q) = %s, want %s", tc.out, v, tc.want)
		}
		if got := v.Supported() == nil; got != tc.supported {
			t.Errorf("%s supported = %v, want %v", tc.want, got, tc.supported)
		}
	}
	for _, bad := range []string{"", "sh: 1: nix: not found", "2.26.3"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", bad, v)
		}
	}
}

func TestUnsupportedVersionSaysWhy(t *testing.T) {
	v, _ := ParseVersion("nix (Nix) 2.8.0")
	err := v.Supported()
	if err == nil {
		t.Fatal("2.8.0 supported")
	}
	want := "the image's Nix is 2.8.0; nixcross needs Nix 2.18 or later (nixpkgs requires it to evaluate)"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}
