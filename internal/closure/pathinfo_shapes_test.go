package closure

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestParsePathInfoEveryNixShape: the closure reads the same from every
// shape of `nix path-info --json` in the range nixcross supports (see
// testdata/pathinfo/README.md for where each file comes from).
func TestParsePathInfoEveryNixShape(t *testing.T) {
	const (
		out = "/nix/store/lv9b0nip1incz0ccz9ch2qb786128qc9-nixcross-shape"
		dep = "/nix/store/v4bpf12dk7zxic80cp2g2hzsrvxll9wp-nixcross-shape-dep"
	)
	want := Closure{
		{Path: out, NarHash: "sha256-ldte7bqD06KpQH47J7HjqLzSoWfDVtK44xot/MKqfxA=", NarSize: 176, References: []string{dep}},
		{Path: dep, NarHash: "sha256-e9vJ5kB9nT7UCtxk10a+Y2a19Y7maMawKGYAi771cgI=", NarSize: 120, References: []string{}},
	}
	files, err := filepath.Glob("testdata/pathinfo/nix-*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePathInfo(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParsePathInfoRefusesAForeignStoreDirAtTheTop(t *testing.T) {
	for _, in := range []string{
		`{"version":2,"storeDir":"/gnu/store","info":{}}`,
		`{"version":1,"storeDir":"/gnu/store"}`,
	} {
		if _, err := ParsePathInfo([]byte(in)); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}
