package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nix-community/go-nix/pkg/nixhash"

	"github.com/nixcross/nixcross/internal/hoststore"
)

// sriHash is Nix's narHash of a NAR, in the SRI form Nix 2.8 prints.
func sriHash(data []byte) string {
	sum := sha256.Sum256(data)
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, sum[:], nixhash.SRI, true).String()
}

func sriHashOf(digest []byte) string {
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, digest, nixhash.SRI, true).String()
}

func nix32Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, sum[:], nixhash.NixBase32, true).String()
}

func infoFor(path string, data []byte) PathInfo {
	return PathInfo{Path: path, NarHash: sriHash(data), NarSize: int64(len(data))}
}

// fakeSource serves NARs from memory through a pipe, so reads block like a
// container's stream and Close unblocks them.
type fakeSource struct {
	mu     sync.Mutex
	nars   map[string][]byte
	calls  [][]string
	mutate func([]byte) []byte // corrupts the concatenated stream
	chunk  int                 // write size; small values exercise short reads
	// block, when set, stops the stream after that many bytes until the
	// context is cancelled.
	block int
}

func newFakeSource() *fakeSource { return &fakeSource{nars: map[string][]byte{}} }

func (f *fakeSource) add(path string, data []byte) PathInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nars[path] = data
	return infoFor(path, data)
}

func (f *fakeSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	f.mu.Lock()
	f.calls = append(f.calls, append([]string(nil), paths...))
	var buf bytes.Buffer
	for _, p := range paths {
		data, ok := f.nars[p]
		if !ok {
			f.mu.Unlock()
			return nil, nil, fmt.Errorf("no such path %s", p)
		}
		buf.Write(data)
	}
	data := buf.Bytes()
	if f.mutate != nil {
		data = f.mutate(data)
	}
	chunk, block := f.chunk, f.block
	f.mu.Unlock()
	if chunk <= 0 {
		chunk = 256 << 10
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(data) && err == nil; off += chunk {
			if block > 0 && off >= block {
				<-ctx.Done()
				err = ctx.Err()
				break
			}
			_, err = pw.Write(data[off:min(off+chunk, len(data))])
		}
		pw.CloseWithError(err)
		done <- err
	}()
	return pr, func() error { return <-done }, nil
}

func (f *fakeSource) dumpCalls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}

// listStore names the entries of the output store's nix/store.
func listStore(t testing.TB, s *hoststore.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root, "nix", "store"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func openStore(t testing.TB, root string) *hoststore.Store {
	t.Helper()
	s, err := hoststore.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
