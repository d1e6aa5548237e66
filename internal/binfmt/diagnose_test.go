package binfmt

import (
	"errors"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

func TestDiagnose(t *testing.T) {
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	exit := func(code int) error { return &engine.ExitError{Cmd: "/nixcross-probes/aarch64", Code: code} }
	tests := []struct {
		name      string
		output    string
		err       error
		want      Kind
		wantCause string
	}{
		{"probe ran", "ok", nil, OK, ""},
		{"dash, no handler", "sh: 1: /nixcross-probes/aarch64: Exec format error", exit(126), NoHandler,
			"sh: 1: /nixcross-probes/aarch64: Exec format error"},
		{"bash, no handler", "bash: /p/aarch64: cannot execute binary file: Exec format error", exit(126), NoHandler,
			"bash: /p/aarch64: cannot execute binary file: Exec format error"},
		{"runc, no handler", "", errors.New(`exec /nixcross-probes/aarch64: exec format error`), NoHandler,
			"exec /nixcross-probes/aarch64: exec format error"},
		{"nix builder, no handler", "building '/nix/store/abc-hello.drv'...\nerror: executing '/nix/store/xyz-builder': Exec format error", errors.New("exit status 1"), NoHandler,
			"error: executing '/nix/store/xyz-builder': Exec format error"},
		{"probe script, interpreter missing", "sh: 1: /nixcross-probes/aarch64: not found (execve: no such file or directory)", exit(127), NoInterpreter,
			"sh: 1: /nixcross-probes/aarch64: not found (execve: no such file or directory)"},
		{"nix builder, interpreter missing", "error: executing '/nix/store/xyz-builder': No such file or directory", errors.New("exit status 1"), NoInterpreter,
			"error: executing '/nix/store/xyz-builder': No such file or directory"},
		{"qemu missing the guest's loader", "qemu-aarch64-static: Could not open '/lib/ld-linux-aarch64.so.1': No such file or directory", exit(255), Other,
			"qemu-aarch64-static: Could not open '/lib/ld-linux-aarch64.so.1': No such file or directory"},
		{"killed", "Killed", exit(137), Other, "/nixcross-probes/aarch64 exited with status 137"},
		{"exit 0 but wrong output", "hello", nil, Other, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DiagnoseSystem(aarch64, tt.output, tt.err)
			if d.Kind != tt.want {
				t.Fatalf("kind %v, want %v (%+v)", d.Kind, tt.want, d)
			}
			if d.Cause != tt.wantCause {
				t.Errorf("cause %q, want %q", d.Cause, tt.wantCause)
			}
			if tt.want == OK {
				if d.Explanation != "" || d.Hint != "" {
					t.Errorf("a run that worked has advice: %+v", d)
				}
				return
			}
			if d.Explanation == "" || d.Hint == "" {
				t.Errorf("missing explanation or hint: %+v", d)
			}
		})
	}
}

func TestDiagnoseHints(t *testing.T) {
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	noHandler := DiagnoseSystem(aarch64, "Exec format error", nil)
	if !strings.Contains(noHandler.Hint, "nixcross binfmt install --system aarch64-linux") {
		t.Errorf("no-handler hint %q does not name the install command for the system", noHandler.Hint)
	}
	if !strings.Contains(noHandler.Explanation, "aarch64-linux") {
		t.Errorf("explanation %q does not name the system", noHandler.Explanation)
	}
	// Without a system the command is still one that works as typed.
	if h := Diagnose("Exec format error", nil).Hint; !strings.Contains(h, "`nixcross binfmt install`") {
		t.Errorf("hint without a system %q", h)
	}
	noInterp := DiagnoseSystem(aarch64, "No such file or directory", nil)
	if !strings.Contains(noInterp.Hint, "F flag") || !strings.Contains(noInterp.Hint, "--system aarch64-linux") {
		t.Errorf("no-interpreter hint %q should explain the F flag and name the install command", noInterp.Hint)
	}
}

func TestKindText(t *testing.T) {
	for k, want := range map[Kind]string{OK: "ok", NoHandler: "no-handler", NoInterpreter: "no-interpreter", Other: "other"} {
		if b, _ := k.MarshalText(); string(b) != want {
			t.Errorf("%d: %q, want %q", k, b, want)
		}
	}
}
