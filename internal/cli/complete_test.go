package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompleteFlagValues (issue 25): the shell completes systems (in a
// comma-separated list too), --source and --push-what.
func TestCompleteFlagValues(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "build", "--system", ""}, []string{"x86_64-linux", "aarch64-linux", "riscv64-linux"}},
		{[]string{"__complete", "build", "--system", "x86_64-linux,a"}, []string{"x86_64-linux,aarch64-linux"}},
		{[]string{"__complete", "shell", "--system", ""}, []string{"aarch64-linux"}},
		{[]string{"__complete", "binfmt", "install", "--system", ""}, []string{"s390x-linux"}},
		{[]string{"__complete", "build", "--source", ""}, []string{"auto", "mount", "copy"}},
		{[]string{"__complete", "build", "--push-what", ""}, []string{"closure", "outputs"}},
	}
	for _, c := range cases {
		code, out, _ := runCLI(t, nil, c.args...)
		lines := strings.Split(out, "\n")
		for _, w := range c.want {
			found := false
			for _, l := range lines {
				found = found || l == w
			}
			if code != 0 || !found {
				t.Errorf("%q: exit %d, no %q in:\n%s", c.args, code, w, out)
			}
		}
	}
}

// TestCompleteContexts: --context completes the Docker contexts in
// DOCKER_CONFIG, default first.
func TestCompleteContexts(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "contexts", "meta", "0123abcd")
	os.MkdirAll(meta, 0o755)
	os.WriteFile(filepath.Join(meta, "meta.json"), []byte(`{"Name":"arm-server","Endpoints":{"docker":{"Host":"ssh://me@arm"}}}`), 0o644)
	code, out, _ := runCLI(t, map[string]string{"DOCKER_CONFIG": dir}, "__complete", "build", "--context", "")
	if code != 0 || !strings.HasPrefix(out, "default\narm-server\n") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestParsePlatforms: Docker platform names add systems; blanks and
// unknown platforms are usage errors with a hint.
func TestParsePlatforms(t *testing.T) {
	got, err := parsePlatforms([]string{"linux/arm64,linux/amd64"}, nil)
	if err != nil || len(got) != 2 || got[0].String() != "aarch64-linux" || got[1].String() != "x86_64-linux" {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"linux/arm64,", "linux/mips"} {
		if _, err := parsePlatforms([]string{bad}, nil); err == nil || !strings.Contains(err.Error(), "platform") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
