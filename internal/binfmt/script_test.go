package binfmt

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/system"
)

// The helpers' shell runs here against a directory laid out like
// /proc/sys/fs/binfmt_misc, so the decision to register or not is tested
// without a kernel or Docker.

func runSh(t *testing.T, script string) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	out, err := exec.Command(sh, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	return string(out)
}

// fakeBinfmt makes a binfmt_misc directory with the given entry files.
func fakeBinfmt(t *testing.T, entries map[string]string) string {
	t.Helper()
	d := t.TempDir()
	files := map[string]string{"register": "", "status": "enabled\n"}
	for name, body := range entries {
		files[name] = body
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

const (
	qemuAarch64Entry = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POC\noffset 0\n" +
		"magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	qemuAarch64FixedEntry = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\n" +
		"magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	// An older style of entry: no mask, magic at an offset (e_machine only).
	offsetAarch64Entry = "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: F\noffset 18\nmagic b700\n"
	x86Entry           = "enabled\ninterpreter /usr/bin/qemu-x86_64\nflags: F\noffset 0\n" +
		"magic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n"
)

func TestEnsureScript(t *testing.T) {
	aarch64 := system.System{Arch: "aarch64", OS: "linux"}
	h, _ := HandlerFor(aarch64)
	h.Interpreter = "/bin/sh" // present on the machine running the test
	header, err := probeHeader(aarch64)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		entries      map[string]string
		interpreter  string
		want         string
		wantRegister bool
	}{
		{"nothing registered", nil, "", "nixcross registered nixcross-aarch64-cpu", true},
		{"host's qemu-aarch64", map[string]string{"qemu-aarch64": qemuAarch64FixedEntry}, "", "nixcross present nixcross-aarch64-cpu qemu-aarch64", false},
		{"host's qemu-aarch64 without the F flag is shadowed", map[string]string{"qemu-aarch64": qemuAarch64Entry}, "", "nixcross registered nixcross-aarch64-cpu", true},
		{"host's entry at an offset, no mask", map[string]string{"aarch64": offsetAarch64Entry}, "", "nixcross present nixcross-aarch64-cpu aarch64", false},
		{"host's entry disabled", map[string]string{"qemu-aarch64": strings.Replace(qemuAarch64FixedEntry, "enabled", "disabled", 1)}, "", "nixcross registered nixcross-aarch64-cpu", true},
		{"another machine's entry", map[string]string{"qemu-x86_64": x86Entry}, "", "nixcross registered nixcross-aarch64-cpu", true},
		{"ours already", map[string]string{"nixcross-aarch64-cpu": qemuAarch64FixedEntry}, "", "nixcross present nixcross-aarch64-cpu nixcross-aarch64-cpu", false},
		// An earlier nixcross's entry (QEMU's default model) is shadowed,
		// never removed: another run may hold it.
		{"an earlier nixcross's entry", map[string]string{"nixcross-aarch64": qemuAarch64FixedEntry}, "", "nixcross registered nixcross-aarch64-cpu", true},
		{"no QEMU in the image", nil, "/nonexistent/qemu-aarch64-static", "nixcross missing nixcross-aarch64-cpu /nonexistent/qemu-aarch64-static", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fakeBinfmt(t, tt.entries)
			hh := h
			if tt.interpreter != "" {
				hh.Interpreter = tt.interpreter
			}
			out := runSh(t, "d="+shell.Quote(d)+"\n"+functionsScript+ensureCall(hh, header))
			if strings.TrimSpace(out) != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
			reg, _ := os.ReadFile(filepath.Join(d, "register"))
			if tt.wantRegister != (len(reg) > 0) {
				t.Fatalf("register file %q, want written: %v", reg, tt.wantRegister)
			}
			if tt.wantRegister && string(reg) != hh.RegisterLine() {
				t.Errorf("register got %q, want the handler's line %q (written literally, escapes for the kernel)", reg, hh.RegisterLine())
			}
		})
	}
}

func TestUnregisterScript(t *testing.T) {
	d := fakeBinfmt(t, map[string]string{"nixcross-aarch64": qemuAarch64Entry, "qemu-riscv64": x86Entry})
	script := strings.Replace(unregisterScript([]string{"nixcross-aarch64", "nixcross-riscv64"}), mountScript, "d="+shell.Quote(d)+"\n", 1)
	out := runSh(t, script)
	want := "nixcross unregistered nixcross-aarch64\nnixcross absent nixcross-riscv64\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if b, _ := os.ReadFile(filepath.Join(d, "nixcross-aarch64")); strings.TrimSpace(string(b)) != "-1" {
		t.Errorf("nixcross-aarch64 got %q, want -1 written to it", b)
	}
	if b, _ := os.ReadFile(filepath.Join(d, "qemu-riscv64")); string(b) != x86Entry {
		t.Error("an entry that is not ours was touched")
	}
}

func TestHolderReport(t *testing.T) {
	sys := func(a string) system.System { return system.System{Arch: a, OS: "linux"} }
	report := "nixcross present nixcross-aarch64-cpu qemu-aarch64\nnixcross registered nixcross-riscv64-cpu\nnixcross ready\n"
	regs, err := parseReport(report, []system.System{sys("aarch64"), sys("riscv64")}, "img")
	if err != nil {
		t.Fatal(err)
	}
	want := []Registration{
		{System: sys("aarch64"), Action: Existing, Handler: "qemu-aarch64"},
		{System: sys("riscv64"), Action: Registered, Handler: "nixcross-riscv64-cpu"},
	}
	for i := range want {
		if regs[i] != want[i] {
			t.Errorf("%d: %+v, want %+v", i, regs[i], want[i])
		}
	}
	_, err = parseReport("nixcross missing nixcross-s390x /usr/bin/qemu-s390x-static\n", []system.System{sys("s390x")}, "img")
	if err == nil || !strings.Contains(err.Error(), "image img has no /usr/bin/qemu-s390x-static") {
		t.Errorf("missing interpreter: %v", err)
	}
	if _, err := parseReport("nixcross ready\n", []system.System{sys("s390x")}, "img"); err == nil {
		t.Error("a report without the system passed")
	}
}

// The probe script's report, run by the host's sh: a probe that runs, one
// for a machine no handler claims, one whose interpreter is missing, and
// one that is not there at all.
func TestProbeScriptReport(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the x86_64 probe natively")
	}
	d := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(d, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	native, _ := Probe(system.System{Arch: "x86_64", OS: "linux"})
	write("x86_64", native)
	unknown := append([]byte(nil), native...)
	unknown[18], unknown[19] = 0x34, 0x12 // e_machine no kernel or handler knows
	write("s390x", unknown)
	write("riscv64", []byte("#!/nonexistent/interpreter\n")) // execve: ENOENT on an existing file
	systems := []system.System{{Arch: "x86_64", OS: "linux"}, {Arch: "s390x", OS: "linux"}, {Arch: "riscv64", OS: "linux"}, {Arch: "aarch64", OS: "linux"}}

	script := strings.Replace(probeScript(systems), "p="+probeDir, "p="+shell.Quote(d), 1)
	sts := parseProbes(runSh(t, script), systems, system.System{Arch: "x86_64", OS: "linux"})
	want := []struct {
		runnable bool
		handler  string
		kind     Kind
	}{{true, HandlerNative, OK}, {false, "", NoHandler}, {false, "", NoInterpreter}, {false, "", Other}}
	for i, st := range sts {
		if st.Runnable != want[i].runnable || st.Handler != want[i].handler || st.Diagnosis.Kind != want[i].kind {
			t.Errorf("%s: runnable %v handler %q kind %v, want %+v (cause %q)", st.System, st.Runnable, st.Handler, st.Diagnosis.Kind, want[i], st.Diagnosis.Cause)
		}
	}
}
