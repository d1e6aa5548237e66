package nixcross

import (
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/system"
)

// The builder image keeps only the QEMU emulators nixcross uses: every
// system it supports must keep its qemu-<arch>-static, which binfmt
// handlers name as their interpreter.
func TestDockerfileKeepsEveryQEMUNixcrossUses(t *testing.T) {
	var includes []string
	for _, line := range strings.Split(string(Dockerfile), "\n") {
		line = strings.Trim(strings.TrimSpace(line), `'\ `)
		if p, ok := strings.CutPrefix(line, "path-include="); ok {
			includes = append(includes, p)
		}
	}
	kept := func(path string) bool {
		for _, pat := range includes {
			if pat == path || strings.HasSuffix(pat, "*") && strings.HasPrefix(path, strings.TrimSuffix(pat, "*")) {
				return true
			}
		}
		return false
	}
	for _, s := range system.LinuxSystems() {
		for _, bin := range []string{"/usr/bin/qemu-" + s.QEMU(), "/usr/bin/qemu-" + s.QEMU() + "-static"} {
			if !kept(bin) {
				t.Errorf("Dockerfile.nix drops %s, which %s needs", bin, s)
			}
		}
	}
}

// Every system nixcross runs with a chosen CPU model has its wrapper packed
// in the image, with that model, at the handler's interpreter path.
func TestDockerfilePacksEveryModelWrapper(t *testing.T) {
	var packed []string
	for _, line := range strings.Split(string(Dockerfile), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "RUN for m in "); ok {
			list, _, _ := strings.Cut(rest, "; do")
			packed = strings.Fields(list)
		}
	}
	if !strings.Contains(string(Dockerfile), `/usr/libexec/nixcross/qemu-$a-cpu`) {
		t.Error("Dockerfile.nix does not pack wrappers as /usr/libexec/nixcross/qemu-<arch>-cpu")
	}
	var want []string
	for _, s := range system.LinuxSystems() {
		h, _ := binfmt.HandlerFor(s)
		if h.Model == "" {
			continue
		}
		want = append(want, s.QEMU()+"="+h.Model)
		if h.Interpreter != "/usr/libexec/nixcross/qemu-"+s.QEMU()+"-cpu" {
			t.Errorf("%s: interpreter %s is not the packed wrapper", s, h.Interpreter)
		}
	}
	if strings.Join(packed, " ") != strings.Join(want, " ") {
		t.Errorf("Dockerfile.nix packs %q, the handler table wants %q", packed, want)
	}
}
