package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// TestBuildNamesShownVisible: names a build made reach stderr with their
// control characters spelled out, in the final error and in the summary;
// an error's own lines stay lines.
func TestBuildNamesShownVisible(t *testing.T) {
	var errb bytes.Buffer
	printError(&errb, status.Build(errors.New("a second build differs in x\x1b]0;pwned\a\nlog: \x1b[31mred\x1b[0m"), "hint\r"))
	want := "Error: a second build differs in x\\x1b]0;pwned\\a\nlog: \\x1b[31mred\\x1b[0m\nHint: hint\\r\n"
	if errb.String() != want {
		t.Errorf("printed %q, want %q", errb.String(), want)
	}

	var buf bytes.Buffer
	printSummary(ui.New(&buf, ui.Options{}), &build.Result{
		System: "x86_64-linux", Native: true, Link: "result",
		Outputs: []string{"/nix/store/ajzdjvdskfw2nplmizg4zmrp3jm5jzvb-x\x1b[2K\rfake: all good"},
	})
	if s := buf.String(); strings.ContainsAny(s, "\x1b\r") || !strings.Contains(s, `-x\x1b[2K\rfake: all good`) {
		t.Errorf("summary %q", s)
	}
}
