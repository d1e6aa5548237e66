package engine

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

func frame(stream byte, payload string) []byte {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func TestFrameReader(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(1, "hello "))
	in.Write(frame(2, "progress 1\n"))
	in.Write(frame(1, ""))
	in.Write(frame(1, "world"))
	in.Write(frame(2, "progress 2\n"))
	var stderr bytes.Buffer
	// A one-byte reader proves frames split across reads reassemble.
	f := &frameReader{r: io.LimitReader(&oneByte{&in}, 1<<20), stderr: &stderr}
	out, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hello world" || stderr.String() != "progress 1\nprogress 2\n" {
		t.Fatalf("stdout %q stderr %q", out, stderr.String())
	}

	bad := []struct {
		name, in, want string
	}{
		{"truncated header", "\x01\x00\x00", "truncated"},
		{"truncated payload", string(frame(1, "abcdef")[:10]), "unexpected EOF"},
		{"system error", string(frame(3, "oci runtime exec failed")), "oci runtime exec failed"},
		{"unknown stream", string(frame(9, "x")), "unknown stream"},
	}
	for _, b := range bad {
		_, err := io.ReadAll(&frameReader{r: strings.NewReader(b.in), stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err %v, want %q", b.name, err, b.want)
		}
	}
}

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
