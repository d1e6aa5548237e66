package shell

import (
	"os/exec"
	"testing"
)

// Whatever the value, sh reads the quoted word back as exactly that value.
func TestQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	for _, v := range []string{"", "plain", "with space", "it's", `"$HOME" $(id) ` + "`id`", "back\\slash\\n", "line\nbreak", "'", "''", "*?[a]"} {
		out, err := exec.Command(sh, "-c", "printf '%s' "+Quote(v)).Output()
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if string(out) != v {
			t.Errorf("Quote(%q) reads back as %q", v, out)
		}
	}
}
