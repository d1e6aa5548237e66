package engine

import (
	"io"
	"os/exec"
	"testing"
)

// TestCmdConnCloseWrite: the connection over a child's stdio half-closes
// (the hijacked exec's end of stdin) and still reads the rest: `cat`
// stands in for ssh running `docker system dial-stdio`.
func TestCmdConnCloseWrite(t *testing.T) {
	cmd := exec.Command("cat")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &cmdConn{cmd: cmd, r: r, w: w}
	defer c.Close()
	if _, ok := any(c).(closeWriter); !ok {
		t.Fatal("cmdConn cannot half-close")
	}
	if _, err := c.Write([]byte("secret\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // ends only when cat saw the end of its input
	if err != nil || string(got) != "secret\n" {
		t.Fatalf("read %q, %v", got, err)
	}
}
