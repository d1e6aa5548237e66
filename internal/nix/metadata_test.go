package nix

import (
	"testing"
)

// A flake with one input, as Nix 2.26 prints `nix flake metadata --json`
// (trimmed to the members nixcross reads and a few it does not).
const metadata226 = `{"description":"demo","lastModified":1732800000,
"locked":{"lastModified":1732800000,"narHash":"sha256-Flake0000000000000000000000000000000000000000=","rev":"4f9c0a0d8e1b2c3d4e5f60718293a4b5c6d7e8f9","type":"git","url":"file:///src/demo"},
"locks":{"nodes":{
  "nixpkgs":{"locked":{"lastModified":1732000000,"narHash":"sha256-Nixpkgs00000000000000000000000000000000000=","owner":"NixOS","repo":"nixpkgs","rev":"0123456789abcdef0123456789abcdef01234567","type":"github"},"original":{"owner":"NixOS","ref":"nixos-24.11","repo":"nixpkgs","type":"github"}},
  "root":{"inputs":{"nixpkgs":"nixpkgs"}}},"root":"root","version":7},
"original":{"type":"git","url":"file:///src/demo"},"originalUrl":"git+file:///src/demo","path":"/nix/store/abc-source",
"resolved":{"type":"git","url":"file:///src/demo"},"resolvedUrl":"git+file:///src/demo","revision":"4f9c0a0d8e1b2c3d4e5f60718293a4b5c6d7e8f9",
"url":"git+file:///src/demo?rev=4f9c0a0d8e1b2c3d4e5f60718293a4b5c6d7e8f9"}`

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata([]byte(metadata226))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Flake
	if f.URL != "git+file:///src/demo?rev=4f9c0a0d8e1b2c3d4e5f60718293a4b5c6d7e8f9" || f.Rev != "4f9c0a0d8e1b2c3d4e5f60718293a4b5c6d7e8f9" ||
		f.NarHash != "sha256-Flake0000000000000000000000000000000000000000=" || f.LastModified != 1732800000 {
		t.Errorf("flake = %+v", f)
	}
	in, ok := m.Inputs["nixpkgs"]
	if len(m.Inputs) != 1 || !ok {
		t.Fatalf("inputs = %+v, want nixpkgs only (not root)", m.Inputs)
	}
	if in.Rev != "0123456789abcdef0123456789abcdef01234567" || in.NarHash != "sha256-Nixpkgs00000000000000000000000000000000000=" ||
		in.Attrs["owner"] != "NixOS" || in.Attrs["type"] != "github" || in.URL != "" {
		t.Errorf("nixpkgs = %+v", in)
	}

	// A path flake without inputs (a copied source): no revision, a lock
	// file with the root alone.
	m, err = ParseMetadata([]byte(`{"locked":{"lastModified":1,"narHash":"sha256-P=","path":"/src","type":"path"},"locks":{"nodes":{"root":{}},"root":"root","version":7},"url":"path:/src?lastModified=1&narHash=sha256-P%3D"}`))
	if err != nil || m.Flake.Rev != "" || m.Flake.NarHash != "sha256-P=" || len(m.Inputs) != 0 || m.Inputs == nil {
		t.Errorf("path flake: %+v, %v", m, err)
	}
	if _, err := ParseMetadata([]byte(`{"locked":{}}`)); err == nil {
		t.Error("metadata without a narHash accepted")
	}
	if _, err := ParseMetadata([]byte(`error: not json`)); err == nil {
		t.Error("garbage accepted")
	}
}

func TestDerivations(t *testing.T) {
	got, err := Derivations([]byte(`[{"drvPath":"/nix/store/a-x.drv","outputs":{"out":"/nix/store/b-x","dev":"/nix/store/c-x-dev"}}]`))
	if err != nil || len(got) != 2 || got["/nix/store/b-x"] != "/nix/store/a-x.drv" || got["/nix/store/c-x-dev"] != "/nix/store/a-x.drv" {
		t.Errorf("Derivations = %v, %v", got, err)
	}
}
