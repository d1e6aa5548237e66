package ui

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestVisibleEveryControlByte(t *testing.T) {
	named := map[byte]string{'\a': `\a`, '\b': `\b`, '\t': `\t`, '\n': `\n`, '\v': `\v`, '\f': `\f`, '\r': `\r`}
	type tc struct{ in, want string }
	var tests []tc
	for c := byte(0); c < 0x20; c++ {
		want := fmt.Sprintf(`\x%02x`, c)
		if n, ok := named[c]; ok {
			want = n
		}
		tests = append(tests, tc{"a" + string(c) + "b", "a" + want + "b"})
	}
	tests = append(tests, tc{"a\x7fb", `a\x7fb`})
	for r := rune(0x80); r < 0xa0; r++ {
		// C1 as a character (valid UTF-8), and as a lone byte (invalid).
		tests = append(tests, tc{"a" + string(r) + "b", fmt.Sprintf(`a\u%04xb`, r)})
		tests = append(tests, tc{"a" + string([]byte{byte(r)}) + "b", fmt.Sprintf(`a\x%02xb`, r)})
	}
	tests = append(tests,
		tc{"\xff\xfe", `\xff\xfe`},
		tc{"\xc3", `\xc3`},                 // truncated sequence
		tc{"\xe2\x82", `\xe2\x82`},         // truncated sequence
		tc{"\xed\xa0\x80", `\xed\xa0\x80`}, // a UTF-16 surrogate
		tc{"\xc0\xaf", `\xc0\xaf`},         // overlong "/"
		tc{"x\x1b[2K\rfake: all good\x1b]0;pwned\a", `x\x1b[2K\rfake: all good\x1b]0;pwned\a`},
		tc{"héllo wörld ✓ 日本 \ufffd", "héllo wörld ✓ 日本 \ufffd"}, // printable, left alone
		tc{`a\x1b`, `a\x1b`}, // backslashes are text
		tc{"", ""},
	)
	for _, tt := range tests {
		got := Visible(tt.in)
		if got != tt.want {
			t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Visible(got); again != got {
			t.Errorf("Visible is not idempotent on %q: %q", got, again)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Visible(%q) = %q is not UTF-8", tt.in, got)
		}
		for _, r := range got {
			if isControl(r) {
				t.Errorf("Visible(%q) = %q keeps control character %U", tt.in, got, r)
			}
		}
	}
}

func TestVisibleLines(t *testing.T) {
	tests := []struct{ in, want string }{
		{"build failed:\n\tlog line\n", "build failed:\n\tlog line\n"},
		{"a\r\nb\x1b[31mred\x1b[0m\x07\u009b", `a\r` + "\n" + `b\x1b[31mred\x1b[0m\a\u009b`},
		{"bad \xff byte\n", `bad \xff byte` + "\n"},
	}
	for _, tt := range tests {
		if got := VisibleLines(tt.in); got != tt.want {
			t.Errorf("VisibleLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWarnfVisible: a warning's text is made visible whatever its
// arguments; the reporter's own styling is not escaped.
func TestWarnfVisible(t *testing.T) {
	var buf strings.Builder
	New(&buf, Options{}).Warnf("link %s left out", "x\x1b]0;pwned\a")
	if got, want := buf.String(), "warning: link x\\x1b]0;pwned\\a left out\n"; got != want {
		t.Errorf("Warnf printed %q, want %q", got, want)
	}
}
