package closure

import (
	"encoding/base64"
	"encoding/hex"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/nixbase32"

	"github.com/nixcross/nixcross/internal/storetest"
)

func TestParsePathInfo(t *testing.T) {
	hello, glibc := storetest.StorePath("hello-2.12"), storetest.StorePath("glibc-2.37")
	// As printed by Debian's Nix 2.8 (SRI narHash).
	const sri = "sha256-Opqb+N8OdD2Flc46wZtGX1NDtur9hjKglAy1o1Imrmg="
	digest, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sri, "sha256-"))
	nix32 := "sha256:" + nixbase32.EncodeToString(digest)
	base16 := hex.EncodeToString(digest)

	want := Closure{
		{Path: glibc, NarHash: sri, NarSize: 100, References: []string{glibc}},
		{Path: hello, NarHash: sri, NarSize: 200, References: []string{glibc, hello}},
	}
	tests := []struct {
		name    string
		in      string
		want    Closure
		wantErr string
	}{
		{
			name: "nix 2.8 array with SRI hashes",
			in: `[{"path":"` + hello + `","narHash":"` + sri + `","narSize":200,"references":["` + hello + `","` + glibc + `"],"deriver":"/nix/store/x.drv","registrationTime":1700000000,"signatures":[]},
			      {"path":"` + glibc + `","narHash":"` + sri + `","narSize":100,"references":["` + glibc + `"]}]`,
			want: want,
		},
		{
			name: "array with nix32 hashes",
			in: `[{"path":"` + glibc + `","narHash":"` + nix32 + `","narSize":100,"references":["` + glibc + `"]},
			      {"path":"` + hello + `","narHash":"` + nix32 + `","narSize":200,"references":["` + glibc + `","` + hello + `"]}]`,
			want: want,
		},
		{
			name: "object keyed by path",
			in: `{"` + hello + `":{"narHash":"` + sri + `","narSize":200,"references":["` + glibc + `","` + hello + `"],"ca":null},
			      "` + glibc + `":{"narHash":"` + nix32 + `","narSize":100,"references":["` + glibc + `"]}}`,
			want: want,
		},
		{
			name: "structured format with base names and hash objects",
			in: `{"` + path.Base(hello) + `":{"path":"` + path.Base(hello) + `","version":2,"storeDir":"/nix/store","narHash":{"algorithm":"sha256","format":"base16","hash":"` + base16 + `"},"narSize":200,"references":["` + path.Base(glibc) + `","` + path.Base(hello) + `"]},
			      "` + path.Base(glibc) + `":{"narHash":{"algorithm":"sha256","format":"sri","hash":"` + sri + `"},"narSize":100,"references":["` + path.Base(glibc) + `"]}}`,
			want: want,
		},
		{name: "empty array", in: `[]`, want: Closure{}},
		{name: "not json", in: `error: path not valid`, wantErr: "expected a JSON array or object"},
		{name: "empty", in: ``, wantErr: "expected a JSON array or object"},
		{name: "invalid path in array", in: `[{"path":"` + hello + `","valid":false}]`, wantErr: "not a valid path"},
		{name: "null entry in object", in: `{"` + hello + `":null}`, wantErr: "not a valid path"},
		{name: "bad store path", in: `[{"path":"/tmp/evil","narHash":"` + sri + `","narSize":1}]`, wantErr: "invalid store path"},
		{name: "dotdot store path", in: `[{"path":"/nix/store/../../etc/passwd","narHash":"` + sri + `","narSize":1}]`, wantErr: "invalid store path"},
		{name: "missing narHash", in: `[{"path":"` + hello + `","narSize":1}]`, wantErr: "narHash: missing"},
		{name: "sha1 narHash", in: `[{"path":"` + hello + `","narHash":"sha1-gA1Zz808BekAy04hS+SPa4hqCN8=","narSize":1}]`, wantErr: "narHash"},
		{name: "sha512 hash object", in: `[{"path":"` + hello + `","narHash":{"algorithm":"sha512","format":"base16","hash":"00"},"narSize":1}]`, wantErr: "unsupported algorithm"},
		{name: "garbage narHash", in: `[{"path":"` + hello + `","narHash":"sha256-!!!","narSize":1}]`, wantErr: "narHash"},
		{name: "zero narSize", in: `[{"path":"` + hello + `","narHash":"` + sri + `","narSize":0}]`, wantErr: "narSize"},
		{name: "missing narSize", in: `[{"path":"` + hello + `","narHash":"` + sri + `"}]`, wantErr: "narSize"},
		{name: "bad reference", in: `[{"path":"` + hello + `","narHash":"` + sri + `","narSize":1,"references":["/etc"]}]`, wantErr: "invalid reference"},
		{name: "listed twice", in: `[{"path":"` + hello + `","narHash":"` + sri + `","narSize":1},{"path":"` + hello + `","narHash":"` + sri + `","narSize":1}]`, wantErr: "listed twice"},
		{name: "key and path disagree", in: `{"` + hello + `":{"path":"` + glibc + `","narHash":"` + sri + `","narSize":1}}`, wantErr: "describes"},
		{name: "foreign store dir", in: `{"` + path.Base(hello) + `":{"storeDir":"/gnu/store","narHash":"` + sri + `","narSize":1}}`, wantErr: "store directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePathInfo([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMissingReferences(t *testing.T) {
	a, b, c := storetest.StorePath("a"), storetest.StorePath("b"), storetest.StorePath("c")
	tests := []struct {
		name string
		in   Closure
		want []string
	}{
		{"complete", Closure{{Path: a, References: []string{a, b}}, {Path: b}}, nil},
		{"missing once though referenced twice", Closure{{Path: a, References: []string{c}}, {Path: b, References: []string{c}}}, []string{c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.MissingReferences(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
