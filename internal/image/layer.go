package image

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// storeLayer is a layer written on demand by write: the host's files are
// read once to learn its digests (both at once: the tar hashed as it is
// compressed), and again each time it is sent, never held in memory or a
// temporary file. The library's tarball layer reads them three times to
// learn the same.
type storeLayer struct {
	write  func(io.Writer) error
	digest v1.Hash // of the gzip stream
	diffID v1.Hash // of the tar
	size   int64   // of the gzip stream
	// tarSize is the tar's size, for archives that carry it uncompressed.
	tarSize int64
}

// gzipLevel is fixed: Go's gzip at one level writes the same bytes for the
// same tar (no name, no date in its header), which is what makes a layer's
// digest depend only on its store paths.
const gzipLevel = gzip.BestSpeed

func newStoreLayer(write func(io.Writer) error) (*storeLayer, error) {
	diff, comp := sha256.New(), sha256.New()
	size, tarSize := &counter{w: comp}, &counter{w: diff}
	gz, _ := gzip.NewWriterLevel(size, gzipLevel)
	if err := write(io.MultiWriter(tarSize, gz)); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return &storeLayer{
		write:   write,
		diffID:  v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))},
		digest:  v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(comp.Sum(nil))},
		size:    size.n,
		tarSize: tarSize.n,
	}, nil
}

func (l *storeLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *storeLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *storeLayer) Size() (int64, error)                { return l.size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	return l.stream(func(w io.Writer) error {
		gz, _ := gzip.NewWriterLevel(w, gzipLevel)
		if err := l.write(gz); err != nil {
			return err
		}
		return gz.Close()
	}), nil
}

func (l *storeLayer) Uncompressed() (io.ReadCloser, error) { return l.stream(l.write), nil }

// stream runs write into a pipe; closing the reader early stops it.
func (l *storeLayer) stream(write func(io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// uncompressed is a layer that offers its tar where the compressed stream
// is asked for: a `docker save` archive for a daemon on this machine, which
// reads either (it checks only the tar's digest, the config's diffID), so
// neither side spends time on gzip.
type uncompressed struct{ *storeLayer }

func (l uncompressed) Digest() (v1.Hash, error)           { return l.diffID, nil }
func (l uncompressed) Size() (int64, error)               { return l.tarSize, nil }
func (l uncompressed) Compressed() (io.ReadCloser, error) { return l.Uncompressed() }
func (l uncompressed) MediaType() (types.MediaType, error) {
	return types.OCIUncompressedLayer, nil
}

// uncompressedImage is img with uncompressed layers, for WriteArchive.
type uncompressedImage struct{ v1.Image }

func (i uncompressedImage) Layers() ([]v1.Layer, error) {
	layers, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(layers))
	for n, l := range layers {
		sl, ok := l.(*storeLayer)
		if !ok {
			return layers, nil
		}
		out[n] = uncompressed{sl}
	}
	return out, nil
}

// Manifest lists the uncompressed layers, which is where the archive
// writer looks each layer up.
func (i uncompressedImage) Manifest() (*v1.Manifest, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	layers, err := i.Layers()
	if err != nil {
		return nil, err
	}
	out := *m
	out.Layers = make([]v1.Descriptor, len(layers))
	for n, l := range layers {
		d, _ := l.Digest()
		size, _ := l.Size()
		mt, _ := l.MediaType()
		out.Layers[n] = v1.Descriptor{MediaType: mt, Digest: d, Size: size}
	}
	return &out, nil
}
