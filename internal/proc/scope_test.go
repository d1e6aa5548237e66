package proc

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestScopeIsStable(t *testing.T) {
	s := Scope()
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(s) {
		t.Fatalf("Scope() = %q", s)
	}
	if Scope() != s {
		t.Fatal("Scope changed")
	}
}

// TestScopeHelper prints the scope, for TestScopeDiffersAcrossPIDNamespaces.
func TestScopeHelper(t *testing.T) {
	if os.Getenv("NIXCROSS_PROC_SCOPE_HELPER") == "" {
		t.Skip("helper process only")
	}
	fmt.Println("scope=" + Scope())
}

// TestScopeDiffersAcrossPIDNamespaces: a process in another PID namespace
// (as in another container) has another scope, so its PIDs are never
// checked against ours.
func TestScopeDiffersAcrossPIDNamespaces(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root for unshare")
	}
	run := func(prefix ...string) string {
		args := append(prefix, os.Args[0], "-test.run=^TestScopeHelper$", "-test.v")
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "NIXCROSS_PROC_SCOPE_HELPER=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("%v: %v\n%s", args[:len(prefix)], err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if s, ok := strings.CutPrefix(line, "scope="); ok {
				return s
			}
		}
		t.Fatalf("no scope in %s", out)
		return ""
	}
	if same := run(); same != Scope() {
		t.Errorf("a child in the same namespace has scope %s, we %s", same, Scope())
	}
	if other := run("unshare", "--pid", "--fork", "--mount-proc"); other == Scope() {
		t.Errorf("a child in a new PID namespace has our scope %s", other)
	}
}
