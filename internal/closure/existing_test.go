package closure

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// With CheckExisting, a path changed after its export (a file edited,
// one added, a path planted under a store path's name) is replaced by
// what Nix built, and an intact one is left alone, its files untouched.
// Without it, the changed path stays: the default trusts the store.
func TestExportCheckExisting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
	}{
		{"edited file", func(t *testing.T, dir string) {
			f := filepath.Join(dir, "lib", "libx.so")
			os.Chmod(f, 0o644)
			if err := os.WriteFile(f, []byte("planted"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(f, 0o444)
		}},
		{"made executable", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "lib", "libx.so"), 0o555) }},
		{"added file", func(t *testing.T, dir string) { storetest.WriteFile(t, filepath.Join(dir, "bin", "extra"), "x", 0o555) }},
		{"grown past narSize", func(t *testing.T, dir string) {
			storetest.WriteFile(t, filepath.Join(dir, "big"), storetest.RandomString(1<<20, 7), 0o444)
		}},
		{"planted file", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			storetest.WriteFile(t, dir, "not what Nix built", 0o444)
		}},
		{"unreadable as a NAR", func(t *testing.T, dir string) {
			if err := storetest.Mkfifo(filepath.Join(dir, "pipe")); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, c := testClosure(t, 2)
			s := openStore(t, t.TempDir())
			ctx := context.Background()
			if _, err := Export(ctx, s, src, c, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			tampered, intact := c[0].Path, c[1].Path
			tc.tamper(t, s.Dir(tampered))
			intactFile := filepath.Join(s.Dir(intact), "lib", "libx.so")
			before, _ := os.Stat(intactFile)

			st, err := Export(ctx, s, src, c, ExportOptions{})
			if err != nil || st.Paths != 0 || st.Skipped != 2 || st.Checked != 0 {
				t.Fatalf("without CheckExisting: %+v, %v; want both trusted", st, err)
			}
			var now bytes.Buffer
			if err := s.DumpNAR(&now, tampered); err == nil && bytes.Equal(now.Bytes(), src.nars[tampered]) {
				t.Fatal("the tampering did not change the path's NAR")
			}

			var replaced []string
			var why error
			st, err = Export(ctx, s, src, c, ExportOptions{CheckExisting: true, Replacing: func(p string, err error) {
				replaced = append(replaced, p)
				why = err
			}})
			if err != nil {
				t.Fatal(err)
			}
			if st.Checked != 2 || st.Replaced != 1 || st.Skipped != 1 || st.Paths != 1 || st.Bytes != c[0].NarSize {
				t.Errorf("stats %+v; want 2 checked, 1 replaced and copied, 1 skipped", st)
			}
			if len(replaced) != 1 || replaced[0] != tampered || !(errors.Is(why, ErrHashMismatch) || errors.Is(why, ErrUnreadable)) {
				t.Errorf("Replacing heard %q (%v); want %s, with why", replaced, why, tampered)
			}
			if got := storetest.Dump(t, s.Dir(tampered)); !bytes.Equal(got, src.nars[tampered]) {
				t.Errorf("the replaced path does not dump to Nix's NAR")
			}
			storetest.CheckModes(t, s.Dir(tampered))
			if after, err := os.Stat(intactFile); err != nil || !os.SameFile(before, after) {
				t.Errorf("the intact path was rewritten")
			}
			if names := listStore(t, s); len(names) != 2 {
				t.Errorf("store holds %q, want the two paths and no temporary", names)
			}
			// Checked again: nothing differs, nothing is copied.
			st, err = Export(ctx, s, src, c, ExportOptions{CheckExisting: true})
			if err != nil || st.Checked != 2 || st.Replaced != 0 || st.Paths != 0 {
				t.Errorf("second check: %+v, %v; want both intact", st, err)
			}
		})
	}
}
