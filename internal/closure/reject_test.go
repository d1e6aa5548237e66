package closure

import (
	"bytes"
	"context"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// TestExportRejects covers streams that must not publish anything: every
// case ends in an error naming the path, an empty nix/store (no temporary
// left) and nothing changed beside the store.
func TestExportRejects(t *testing.T) {
	tests := []struct {
		name    string
		closure func(c Closure)                  // what path-info claims
		stream  func(c Closure, s []byte) []byte // what the container sends
		wantErr string
		// published lists closure indexes that arrive whole before the
		// fault, verify, and so are rightly published.
		published []int
	}{
		{
			name:    "hash mismatch",
			closure: func(c Closure) { c[0].NarHash = sriHash([]byte("something else")) },
			wantErr: "hash mismatch",
		},
		{
			name: "flipped byte in contents",
			stream: func(c Closure, s []byte) []byte {
				s[bytes.Index(s, []byte("libx.so"))+300] ^= 1 // inside its contents
				return s
			},
			wantErr: "hash mismatch",
		},
		{
			name:    "stream truncated mid-NAR",
			stream:  func(c Closure, s []byte) []byte { return s[:c[0].NarSize/2] },
			wantErr: "unexpected EOF",
		},
		{
			name:      "stream truncated at a NAR boundary",
			stream:    func(c Closure, s []byte) []byte { return s[:c[0].NarSize] },
			wantErr:   "unexpected EOF",
			published: []int{0},
		},
		{
			name:    "stream empty",
			stream:  func(c Closure, s []byte) []byte { return nil },
			wantErr: "unexpected EOF",
		},
		{
			name:      "extra bytes after the last NAR",
			stream:    func(c Closure, s []byte) []byte { return append(s, "trailing junk"...) },
			wantErr:   "continues after the last NAR",
			published: []int{0, 1},
		},
		{
			name:    "narSize larger than the NAR",
			closure: func(c Closure) { c[0].NarSize += 8 },
			wantErr: "before its narSize",
		},
		{
			name:    "narSize smaller than the NAR",
			closure: func(c Closure) { c[0].NarSize -= 8 },
			wantErr: "longer than its narSize",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, c := testClosure(t, 2)
			if tt.closure != nil {
				tt.closure(c)
			}
			if tt.stream != nil {
				src.mutate = func(s []byte) []byte { return tt.stream(c, s) }
			}
			base := t.TempDir()
			sentinel := filepath.Join(base, "sentinel")
			storetest.WriteFile(t, filepath.Join(sentinel, "keep"), "precious", 0o644)
			s := openStore(t, filepath.Join(base, "out"))
			before := storetest.Snapshot(t, base, nil)

			_, err := Export(context.Background(), s, src, c, ExportOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			var want []string
			for _, i := range tt.published {
				want = append(want, path.Base(c[i].Path))
			}
			sort.Strings(want)
			if len(tt.published) == 0 && !strings.Contains(err.Error(), c[0].Path) {
				t.Errorf("error %q does not name %s", err, c[0].Path)
			}
			if got := listStore(t, s); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("store holds %q, want %q", got, want)
			}
			for _, i := range tt.published {
				if got := storetest.Dump(t, s.Dir(c[i].Path)); sriHash(got) != c[i].NarHash {
					t.Errorf("published %s does not verify", c[i].Path)
				}
			}
			after := storetest.Snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
			if d := storetest.Diff(before, after); len(d) > 0 {
				t.Errorf("changed outside the store:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestExportHostileStreams feeds hand-written NARs that try to escape or
// overwrite. Each carries its true narHash, so only the decoder's own
// checks stand between it and the disk.
func TestExportHostileStreams(t *testing.T) {
	file := func(b *storetest.Builder) { b.File("pwned") }
	dirWith := func(name string, node func(*storetest.Builder)) func(*storetest.Builder) {
		return func(b *storetest.Builder) { b.OpenDir().Entry(name, node).CloseDir() }
	}
	tests := []struct {
		name    string
		nar     func(sentinel string) []byte
		wantErr string // "" means contained: accepted, nothing outside touched
	}{
		{"dotdot entry", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("..", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"dot entry", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry(".", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"empty name", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"slash in name", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("a/b", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"absolute name", func(s string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry(s+"/pwned", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"dotdot path name", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("../../../sentinel/pwned", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"nested dotdot", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("a", dirWith("..", dirWith("..", file))).CloseDir().Bytes()
		}, "invalid entry name"},
		{"NUL in name", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("a\x00b", file).CloseDir().Bytes()
		}, "invalid entry name"},
		{"name longer than NAME_MAX", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry(strings.Repeat("a", 256), file).CloseDir().Bytes()
		}, "at most 255"},
		{"duplicate names", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("a", file).Entry("a", file).CloseDir().Bytes()
		}, "not sorted or duplicate"},
		{"unsorted names", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Entry("b", file).Entry("a", file).CloseDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then directory of the same name", func(s string) []byte {
			return new(storetest.Builder).Magic().OpenDir().
				Entry("x", func(b *storetest.Builder) { b.Symlink(s) }).
				Entry("x", func(b *storetest.Builder) { b.OpenDir().Entry("pwned", file).CloseDir() }).
				CloseDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then file of the same name", func(s string) []byte {
			return new(storetest.Builder).Magic().OpenDir().
				Entry("x", func(b *storetest.Builder) { b.Symlink(s + "/keep") }).
				Entry("x", file).
				CloseDir().Bytes()
		}, "not sorted or duplicate"},
		{"symlink then write through it", func(s string) []byte {
			return new(storetest.Builder).Magic().OpenDir().
				Entry("x", func(b *storetest.Builder) { b.Symlink(s) }).
				Entry("x/pwned", file).
				CloseDir().Bytes()
		}, "invalid entry name"},
		{"huge declared file size", func(string) []byte {
			return new(storetest.Builder).Magic().Str("(", "type", "regular", "contents").Num(1 << 62).Bytes()
		}, "does not fit"},
		{"huge declared name size", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Str("entry", "(", "name").Num(1 << 40).Bytes()
		}, "at most 255"},
		{"huge declared symlink target", func(string) []byte {
			return new(storetest.Builder).Magic().Str("(", "type", "symlink", "target").Num(1 << 40).Bytes()
		}, "at most 4095"},
		{"empty symlink target", func(string) []byte { return new(storetest.Builder).Magic().Symlink("").Bytes() }, "invalid symlink target"},
		{"NUL in symlink target", func(string) []byte { return new(storetest.Builder).Magic().Symlink("/etc\x00").Bytes() }, "invalid symlink target"},
		{"non-zero padding", func(string) []byte {
			b := new(storetest.Builder).Magic().File("abc")
			out := b.Bytes()
			out[len(out)-16-1] = 'X' // inside the padding of "abc"
			return out
		}, "padding"},
		{"unknown node type", func(string) []byte {
			return new(storetest.Builder).Magic().Str("(", "type", "fifo", ")").Bytes()
		}, "unknown node type"},
		{"junk token in directory", func(string) []byte {
			return new(storetest.Builder).Magic().OpenDir().Str("junk").CloseDir().Bytes()
		}, "expected entry"},
		{"bad executable placeholder", func(string) []byte {
			return new(storetest.Builder).Magic().Str("(", "type", "regular", "executable", "x", "contents", "", ")").Bytes()
		}, "expected \"\""},
		{"wrong magic", func(string) []byte { return new(storetest.Builder).Str("nix-archive-2").File("x").Bytes() }, "expected"},
		{"deeper than PATH_MAX", func(string) []byte {
			b := new(storetest.Builder).Magic()
			const depth = 2100
			for range depth {
				b.OpenDir().Str("entry", "(", "name", "a", "node")
			}
			b.File("deep")
			for range depth {
				b.Str(")").CloseDir()
			}
			return b.Bytes()
		}, "deeper than"},
		// Contained, not rejected: a symlink is data and is never followed.
		{"root symlink to the sentinel", func(s string) []byte { return new(storetest.Builder).Magic().Symlink(s).Bytes() }, ""},
		{"symlink to the sentinel in a directory", func(s string) []byte {
			return new(storetest.Builder).Magic().OpenDir().
				Entry("a", func(b *storetest.Builder) { b.Symlink(s) }).
				Entry("b", func(b *storetest.Builder) { b.Symlink("../../../../sentinel/keep") }).
				CloseDir().Bytes()
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			sentinel := filepath.Join(base, "sentinel")
			storetest.WriteFile(t, filepath.Join(sentinel, "keep"), "precious", 0o644)
			s := openStore(t, filepath.Join(base, "out"))
			data := tt.nar(sentinel)
			sp := storetest.StorePath("hostile")
			src := newFakeSource()
			info := src.add(sp, data)
			before := storetest.Snapshot(t, base, nil)

			_, err := Export(context.Background(), s, src, Closure{info}, ExportOptions{})
			storeEntries := listStore(t, s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := storetest.Dump(t, s.Dir(sp)); !bytes.Equal(got, data) {
					t.Error("contained path does not round-trip")
				}
				if len(storeEntries) != 1 {
					t.Errorf("store holds %q", storeEntries)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), sp) {
					t.Fatalf("err = %v, want %q naming %s", err, tt.wantErr, sp)
				}
				if len(storeEntries) != 0 {
					t.Errorf("store holds %q after a rejected stream", storeEntries)
				}
			}
			after := storetest.Snapshot(t, base, func(rel string) bool { return strings.HasPrefix(rel, "out/nix/store/") })
			if d := storetest.Diff(before, after); len(d) > 0 {
				t.Errorf("changed outside the store:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}
