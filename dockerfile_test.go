package nixcross

import (
	"strings"
	"testing"

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
