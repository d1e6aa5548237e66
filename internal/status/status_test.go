package status

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("plain"), ExitBuild},
		{Build(errors.New("b"), ""), ExitBuild},
		{Usage(errors.New("u"), ""), ExitUsage},
		{fmt.Errorf("wrapped: %w", Environment(errors.New("e"), "fix it")), ExitEnvironment},
		{fmt.Errorf("x: %w", context.Canceled), ExitInterrupted},
		{errors.Join(Environment(errors.New("e"), ""), errors.New("teardown")), ExitEnvironment},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.code {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
	if h := HintOf(fmt.Errorf("a: %w", Usage(Environment(errors.New("x"), "inner"), ""))); h != "inner" {
		t.Errorf("HintOf = %q", h)
	}
}
