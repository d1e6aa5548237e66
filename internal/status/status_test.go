package status

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every kind has its exit code and one line of advice; the table is what
// README's exit-code table documents.
func TestKinds(t *testing.T) {
	cases := []struct {
		kind   Kind
		name   string
		code   int
		advice string // a word the advice must contain; "" for none
	}{
		{KindInternal, "internal", 4, "report"},
		{KindBuild, "build", 1, "log"},
		{KindCheck, "check", 1, "check"},
		{KindIntegrity, "integrity", 1, "hash"},
		{KindUsage, "usage", 2, "--help"},
		{KindEnvironment, "environment", 3, "doctor"},
		{KindDaemon, "daemon", 3, "Docker daemon"},
		{KindExport, "export", 3, "resumes"},
		{KindInterrupted, "interrupted", 130, ""},
		{KindStopped, "stopped", 3, "stop"},
		{KindMemory, "memory", 3, "--memory"},
		{KindSpace, "space", 3, "free space"},
	}
	if len(cases) != len(kinds) {
		t.Fatalf("the table covers %d kinds, status has %d", len(cases), len(kinds))
	}
	for _, c := range cases {
		if got := c.kind.String(); got != c.name {
			t.Errorf("kind %d is named %q, want %q", c.kind, got, c.name)
		}
		if got := c.kind.ExitCode(); got != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.code)
		}
		advice := c.kind.Advice()
		if c.advice == "" && advice != "" || !contains(advice, c.advice) {
			t.Errorf("%s: advice %q, want one mentioning %q", c.name, advice, c.advice)
		}
		if contains(advice, "\n") {
			t.Errorf("%s: advice is more than one line: %q", c.name, advice)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestExitCode(t *testing.T) {
	lost := Daemon(errors.New("lost the Docker daemon at unix:///var/run/docker.sock"), "start it")
	cases := []struct {
		name string
		err  error
		code int
		hint string
	}{
		{"nil", nil, 0, ""},
		{"unclassified is not a build failure", errors.New("plain"), ExitInternal, KindInternal.Advice()},
		{"build", Build(errors.New("b"), ""), ExitBuild, KindBuild.Advice()},
		{"check", Check(errors.New("c"), "ship it with nix/"), ExitBuild, "ship it with nix/"},
		{"integrity", fmt.Errorf("export: %w", Integrity(errors.New("hash mismatch"), "")), ExitBuild, KindIntegrity.Advice()},
		{"usage", Usage(errors.New("u"), ""), ExitUsage, KindUsage.Advice()},
		{"environment", fmt.Errorf("wrapped: %w", Environment(errors.New("e"), "fix it")), ExitEnvironment, "fix it"},
		{"export", Export(errors.New("stream cut"), ""), ExitEnvironment, KindExport.Advice()},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), ExitInterrupted, ""},
		{"teardown joined", errors.Join(Environment(errors.New("e"), ""), errors.New("teardown")), ExitEnvironment, KindEnvironment.Advice()},
		{"daemon under a build failure", Build(fmt.Errorf("nix build: %w", lost), "a build hint"), ExitEnvironment, "start it"},
		{"daemon in a teardown error", errors.Join(Export(errors.New("cut"), "rerun"), lost), ExitEnvironment, "start it"},
		{"daemon in a multi-system failure", errors.Join(Build(errors.New("one"), ""), fmt.Errorf("two: %w", lost)), ExitEnvironment, "start it"},
		{"shell exit status", &ExitStatus{Code: 7}, 7, KindInternal.Advice()},
		{"shell exit status with a clean removal", errors.Join(&ExitStatus{Code: 1}), 1, KindInternal.Advice()},
		{"shell exit status, then the daemon went", errors.Join(&ExitStatus{Code: 1}, lost), ExitEnvironment, "start it"},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.code {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", c.name, c.err, got, c.code)
		}
		if c.err == nil {
			continue
		}
		if got := HintOf(c.err); got != c.hint {
			t.Errorf("%s: HintOf = %q, want %q", c.name, got, c.hint)
		}
	}
	if h := HintOf(fmt.Errorf("a: %w", Usage(Environment(errors.New("x"), "inner"), ""))); h != "inner" {
		t.Errorf("HintOf = %q", h)
	}
}
