package nar

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

const tarBase = "0jzs0725hwrhapiz765s7h65k87qq5jm-x"

// decodeTar decodes the tar raw of a path whose NAR has size bytes, and
// returns the NAR it made and the tree's own serialisation.
func decodeTar(raw []byte, size int64) (made, tree []byte, err error) {
	w := newMemWriter()
	var out bytes.Buffer
	err = DecodeTar(bytes.NewReader(raw), w, "root", TarOptions{
		Size: size,
		Base: tarBase,
		NAR:  &out,
		Open: func(rel string) (fs.File, error) { return w.files.Open("root/" + rel) },
	})
	if err != nil {
		return nil, nil, err
	}
	b := new(storetest.Builder).Magic()
	w.dir["root"].nar(b)
	return out.Bytes(), b.Bytes(), nil
}

// TestDecodeTar: the daemon's tar of a path makes the very NAR Nix dumps
// for it, and the tree written is that NAR's.
func TestDecodeTar(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, p string)
	}{
		{"directory tree", func(t *testing.T, p string) {
			storetest.BuildTree(t, p, storetest.RichTree(storetest.StorePath("dep-1.0")))
			// A second name for a file, as Nix's store optimisation makes.
			if err := os.Link(filepath.Join(p, "share", "odd-size"), filepath.Join(p, "share", "z-hardlink")); err != nil {
				t.Fatal(err)
			}
		}},
		{"single file", func(t *testing.T, p string) { storetest.WriteFile(t, p, "just a file", 0o644) }},
		{"single executable", func(t *testing.T, p string) { storetest.WriteFile(t, p, "#!/bin/sh\n", 0o755) }},
		{"empty directory", func(t *testing.T, p string) { storetest.BuildTree(t, p, storetest.Tree{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			tt.make(t, src)
			want := storetest.Dump(t, src)
			made, tree, err := decodeTar(storetest.Tar(t, src, tarBase), int64(len(want)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(made, want) {
				t.Error("the NAR made from the tar is not the one Nix dumps")
			}
			if !bytes.Equal(tree, want) {
				t.Error("the tree written from the tar is not the NAR's")
			}
		})
	}
}

func TestDecodeTarWrongSize(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	storetest.BuildTree(t, src, storetest.Tree{"a/f": "file a/f", "c": "->a/f"})
	size := int64(len(storetest.Dump(t, src)))
	raw := storetest.Tar(t, src, tarBase)
	for _, tt := range []struct {
		size    int64
		wantErr string
	}{
		{size + 8, "the tar makes a NAR of"},
		{size - 8, "narSize"},
	} {
		if _, _, err := decodeTar(raw, tt.size); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("size %d: err = %v, want %q", tt.size, err, tt.wantErr)
		}
	}
}

// FuzzDecodeTar: whatever the tar, DecodeTar does not panic, and when it
// accepts one, the NAR it made (what gets hashed) is exactly the tree it
// wrote (what gets published).
func FuzzDecodeTar(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "seed")
	storetest.BuildTree(f, dir, storetest.SeedTree())
	f.Add(storetest.Tar(f, dir, tarBase), int64(len(storetest.Dump(f, dir))))
	f.Add([]byte{}, int64(0))

	f.Fuzz(func(t *testing.T, raw []byte, size int64) {
		// The size bounds what a tar may make (a sparse file's holes
		// too): kept small so that the fuzzer does not hold gigabytes.
		made, tree, err := decodeTar(raw, size%(1<<20))
		if err == nil && !bytes.Equal(made, tree) {
			t.Fatal("the NAR made differs from the tree written")
		}
	})
}
