package nar

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/nixcross/nixcross/internal/storetest"
)

func TestReadAheadDeliversTheStreamExactly(t *testing.T) {
	data := []byte(storetest.RandomString(100_000, 3))
	tests := []struct {
		name string
		src  func() io.Reader
		ring int
	}{
		{"ring larger than the stream", func() io.Reader { return bytes.NewReader(data) }, 1 << 20},
		{"ring of 7 bytes wraps constantly", func() io.Reader { return bytes.NewReader(data) }, 7},
		{"one byte reads", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }, 4096},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra := NewReadAhead(tt.src(), tt.ring)
			defer ra.Stop()
			// Mixed read sizes, as the decoder does: tokens, then contents.
			var got bytes.Buffer
			for i := 0; ; i++ {
				p := make([]byte, []int{8, 1, 4093, 65536}[i%4])
				n, err := ra.Read(p)
				got.Write(p[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatal("stream altered")
			}
		})
	}
}

func TestReadAheadReportsTheErrorAfterTheData(t *testing.T) {
	boom := errors.New("boom")
	ra := NewReadAhead(iotest.DataErrReader(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom))), 16)
	defer ra.Stop()
	got, err := io.ReadAll(ra)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReadAheadHandsOverWhatHasArrived(t *testing.T) {
	pr, pw := io.Pipe()
	ra := NewReadAhead(pr, 1<<20)
	go pw.Write([]byte("first")) // and then nothing more for now
	got := make([]byte, 5)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(ra, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(got) != "first" {
			t.Fatalf("got %q, %v", got, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bytes that arrived were held back")
	}
	pr.Close()
	ra.Stop()
}

func TestReadAheadStopsWithAFullRing(t *testing.T) {
	ra := NewReadAhead(bytes.NewReader(make([]byte, 1<<20)), 16)
	ra.Read(make([]byte, 3))
	done := make(chan struct{})
	go func() { ra.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stop blocked on a full ring")
	}
}
