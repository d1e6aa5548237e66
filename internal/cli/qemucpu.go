package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nixcross/nixcross/internal/binfmt"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// addQEMUCPUFlag declares --qemu-cpu on a build command's flags.
func addQEMUCPUFlag(f *pflag.FlagSet, dst *[]string) {
	f.StringArrayVar(dst, "qemu-cpu", nil, "`SYSTEM=MODEL`: emulate this QEMU CPU model for SYSTEM instead of nixcross's measured choice (repeatable; aarch64-linux, riscv64-linux), e.g. aarch64-linux=cortex-a53")
}

// parseQEMUCPU reads --qemu-cpu values into Request.QEMUCPU: a system
// nixcross runs with a chosen model (binfmt.DefaultModel), once, and a
// model QEMU's -cpu could take (a name and NAME=VALUE properties after
// commas). Whether QEMU knows the model, QEMU says when it starts.
func parseQEMUCPU(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	models := map[string]string{}
	for _, v := range values {
		name, model, ok := strings.Cut(v, "=")
		if !ok || model == "" {
			return nil, status.Usage(fmt.Errorf("--qemu-cpu needs SYSTEM=MODEL, got %q", v), "e.g. --qemu-cpu aarch64-linux=cortex-a53")
		}
		s, err := system.Parse(name)
		if err != nil {
			return nil, err
		}
		if binfmt.DefaultModel(s) == "" {
			return nil, status.Usage(fmt.Errorf("--qemu-cpu %s: nixcross runs QEMU's default CPU model for %s and cannot choose another", s, s),
				"--qemu-cpu takes aarch64-linux or riscv64-linux")
		}
		if _, dup := models[s.String()]; dup {
			return nil, status.Usage(fmt.Errorf("--qemu-cpu %s given twice", s), "")
		}
		if strings.ContainsFunc(model, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, status.Usage(fmt.Errorf("--qemu-cpu %s: model %q has spaces or control characters", s, model), "")
		}
		models[s.String()] = model
	}
	return models, nil
}

// qemuModelNote says which CPU model a registration's handler emulates.
func qemuModelNote(r binfmt.Registration) string {
	switch r.Action {
	case binfmt.Native, binfmt.Unregistered, binfmt.Absent:
		return ""
	}
	return ", " + handlerModel(r.System, r.Handler)
}

// handlerModel says which CPU model the entry named handler emulates for
// s: nixcross's own handler its chosen model; another tool's is used as it
// is, its model not nixcross's to choose.
func handlerModel(s system.System, handler string) string {
	h, ok := binfmt.HandlerFor(s)
	switch {
	case !ok:
		return ""
	case handler != h.Name && !strings.HasPrefix(handler, binfmt.NamePrefix):
		return "another tool's: CPU model not tuned"
	case handler != h.Name:
		return "an earlier nixcross's: QEMU's default CPU model"
	case h.Model != "":
		return "CPU " + h.Model
	}
	return "QEMU's default CPU model"
}
