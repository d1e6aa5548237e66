package cli

import (
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestUsageErrorsExit2 (issue 25): whatever the user got wrong on the
// command line is exit 2 with a hint, in every command; a command of
// subcommands alone prints its help.
func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"buidl"}, "did you mean `nixcross build`?"},
		{[]string{"key", "generate"}, "Error: accepts 1 arg(s), received 0"},
		{[]string{"key", "generat", "x"}, "did you mean `nixcross key generate`?"},
		{[]string{"cache", "foo"}, `unknown command "foo" for "nixcross cache"`},
		{[]string{"cache", "lss"}, "did you mean `nixcross cache ls`?"},
		{[]string{"binfmt", "statu"}, "did you mean `nixcross binfmt status`?"},
		{[]string{"doctor", "extra"}, "takes at most 0 argument(s)"},
		{[]string{"build", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"version", "x"}, `unknown command "x" for "nixcross version"`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, nil, c.args...)
		if code != status.ExitUsage || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "Hint: ") {
			t.Errorf("%q: exit %d, want %d with %q:\n%s", c.args, code, status.ExitUsage, c.want, stderr)
		}
	}
	for _, group := range []string{"cache", "binfmt", "key"} {
		code, out, _ := runCLI(t, nil, group)
		if code != 0 || !strings.Contains(out, "Available Commands") {
			t.Errorf("%s alone: exit %d, want its help:\n%s", group, code, out)
		}
	}
}
