package nar

import (
	"io"
	"sync"
)

// ReadAhead decouples reading the container's stream from writing the
// files: a goroutine reads the stream into a fixed ring buffer while the
// decoder is busy on the disk, so the producer in the container is not
// stalled behind our writes (nor our writes behind its reads). It is a
// bounded pipe: memory stays at the ring's size, and whatever has arrived
// is readable at once, however little (a path must not wait for the next
// one's bytes to be published).
type ReadAhead struct {
	mu       sync.Mutex
	readable sync.Cond // signalled when data or the end arrives
	writable sync.Cond // signalled when the reader frees space or stops
	buf      []byte
	r, w     int64 // bytes consumed and produced so far; positions mod len(buf)
	err      error // why the stream ended, reported once the ring is drained
	stopped  bool
	wg       sync.WaitGroup
}

// NewReadAhead starts reading src into a ring of size bytes. The caller
// must Stop it.
func NewReadAhead(src io.Reader, size int) *ReadAhead {
	ra := &ReadAhead{buf: make([]byte, size)}
	ra.readable.L = &ra.mu
	ra.writable.L = &ra.mu
	ra.wg.Add(1)
	go ra.fill(src)
	return ra
}

func (ra *ReadAhead) fill(src io.Reader) {
	defer ra.wg.Done()
	size := int64(len(ra.buf))
	for {
		ra.mu.Lock()
		for ra.w-ra.r == size && !ra.stopped {
			ra.writable.Wait()
		}
		if ra.stopped {
			ra.mu.Unlock()
			return
		}
		start := ra.w % size
		free := min(size-(ra.w-ra.r), size-start)
		ra.mu.Unlock()

		// The reader never touches [w, w+free): no lock while we wait on
		// the stream.
		n, err := src.Read(ra.buf[start : start+free])

		ra.mu.Lock()
		ra.w += int64(n)
		if err != nil {
			ra.err = err
		}
		ra.readable.Signal()
		ra.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (ra *ReadAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	size := int64(len(ra.buf))
	ra.mu.Lock()
	for ra.r == ra.w && ra.err == nil {
		ra.readable.Wait()
	}
	if ra.r == ra.w {
		err := ra.err
		ra.mu.Unlock()
		return 0, err
	}
	start := ra.r % size
	avail := min(ra.w-ra.r, size-start)
	ra.mu.Unlock()

	// The filler never touches [r, w): copy without the lock.
	n := copy(p, ra.buf[start:start+avail])

	ra.mu.Lock()
	ra.r += int64(n)
	ra.writable.Signal()
	ra.mu.Unlock()
	return n, nil
}

func (ra *ReadAhead) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(ra, b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

// Stop ends the filler. The stream must be closed first, or a Read
// blocked inside it keeps the filler (and stop) waiting.
func (ra *ReadAhead) Stop() {
	ra.mu.Lock()
	ra.stopped = true
	ra.writable.Broadcast()
	ra.mu.Unlock()
	ra.wg.Wait()
}
