package closure

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/nixcross/nixcross/internal/hoststore"
)

// A path already in the output store is trusted by default: it was
// verified when it was published, and re-hashing the whole closure on
// every run would cost a no-op rebuild most of its speed. With
// ExportOptions.CheckExisting it is hashed again, and one that no longer
// matches Nix's narHash (edited after the export, or planted there under
// a store path's name) is removed and exported anew.

// errTooLong stops hashing a path whose NAR outgrew narSize: no need to
// read the rest of a planted file to know it is wrong.
var errTooLong = errors.New("longer than narSize")

// ErrUnreadable is an existing path that cannot be read back as a NAR (a
// file type a NAR cannot hold, a file nobody may read).
var ErrUnreadable = errors.New("cannot be read back as a NAR")

// existing decides about a path the store already has: skip it, or, with
// CheckExisting, check it and remove it when it differs, so that it is
// exported again (true).
func existing(store *hoststore.Store, it exportItem, opts ExportOptions, st *Stats) (bool, error) {
	if !opts.CheckExisting {
		st.Skipped++
		return false, nil
	}
	st.Checked++
	why := existingDiffers(store, it)
	if why == nil {
		st.Skipped++
		return false, nil
	}
	if opts.Replacing != nil {
		opts.Replacing(it.info.Path, why)
	}
	if err := store.Remove(it.info.Path); err != nil {
		return false, fmt.Errorf("export %s: replace a copy that %v: %w", it.info.Path, why, err)
	}
	st.Replaced++
	return true, nil
}

// existingDiffers hashes the published path of it again and says how it
// differs from what Nix recorded; nil when it matches.
func existingDiffers(store *hoststore.Store, it exportItem) error {
	h := sha256.New()
	lw := &limitedWriter{h: h, left: it.info.NarSize}
	err := store.DumpNAR(lw, it.info.Path)
	switch {
	case lw.over:
		return fmt.Errorf("%w: its NAR is longer than the %d bytes Nix recorded", ErrHashMismatch, it.info.NarSize)
	case err != nil:
		// The cause names files of a tree someone changed: not worth
		// printing, and the replacement fixes it either way.
		return ErrUnreadable
	case lw.left != 0:
		return fmt.Errorf("%w: its NAR is %d bytes, Nix recorded %d", ErrHashMismatch, it.info.NarSize-lw.left, it.info.NarSize)
	}
	if got := (narHash{digest: h.Sum(nil)}); !bytes.Equal(got.digest, it.hash.digest) {
		return fmt.Errorf("%w: its NAR hashes to %s, Nix recorded %s", ErrHashMismatch, got, it.hash)
	}
	return nil
}

// limitedWriter hashes at most left bytes and fails past them.
type limitedWriter struct {
	h    io.Writer
	left int64
	over bool
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.left {
		w.over = true
		return 0, errTooLong
	}
	w.left -= int64(len(p))
	return w.h.Write(p)
}
