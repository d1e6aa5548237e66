package nix

import (
	"os"
	"reflect"
	"testing"
)

// TestParseBuildJSONEveryNixShape: real `nix build --json` output of the
// oldest and the current Nix in the builder (testdata/build-json; see
// internal/closure/testdata/pathinfo/capture.sh). 2.8 builds only "out" of
// a multi-output installable, 2.26 every output, and adds timing members.
func TestParseBuildJSONEveryNixShape(t *testing.T) {
	const (
		out = "/nix/store/lv9b0nip1incz0ccz9ch2qb786128qc9-nixcross-shape"
		doc = "/nix/store/c88x5xqs8jjl4sz19flcc9500id79x60-nixcross-shape-doc"
	)
	for file, want := range map[string][]string{
		"testdata/build-json/nix-2.8.json":  {out},
		"testdata/build-json/nix-2.26.json": {out, doc},
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseBuildJSON(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", file, got, want)
		}
	}
}
