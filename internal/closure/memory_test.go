package closure

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nixcross/nixcross/internal/storetest"
)

// genSource streams one large generated file as a NAR without holding it,
// so the test measures the exporter's memory, not its own.
type genSource struct{ size int64 }

func (g genSource) nar(w io.Writer) error {
	b := new(storetest.Builder).Magic().Str("(", "type", "regular", "contents").Num(uint64(g.size))
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 64<<10)
	for left := g.size; left > 0; left -= int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := w.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			return err
		}
	}
	tail := new(storetest.Builder)
	tail.Write(make([]byte, (8-g.size%8)%8))
	tail.Str(")")
	_, err := w.Write(tail.Bytes())
	return err
}

func (g genSource) Dump(ctx context.Context, paths []string) (io.ReadCloser, func() error, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := g.nar(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	return pr, func() error { return <-done }, nil
}

func TestExportMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 96 MiB")
	}
	g := genSource{size: 96 << 20}
	h := sha256.New()
	cw := &countWriter{w: h}
	if err := g.nar(cw); err != nil {
		t.Fatal(err)
	}
	sp := storetest.StorePath("big")
	info := PathInfo{Path: sp, NarHash: sriHashOf(h.Sum(nil)), NarSize: cw.n}
	s := openStore(t, t.TempDir())

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Export(context.Background(), s, g, Closure{info}, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// The generator allocates a little too; the exporter's own share is
	// its two 1 MiB buffers.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("exporting 96 MiB allocated %d MiB", alloc>>20)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
