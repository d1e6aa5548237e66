package build

import (
	"github.com/nixcross/nixcross/internal/machine"
	"github.com/nixcross/nixcross/internal/status"
)

// check is the "check" stage: name the machines the result's ELF files
// are for and, under --verify, fail when they are not for the system asked.
func (r *Runner) check(j job, out exported, res *Result) error {
	files, err := machine.Scan(out.store.Dir(res.Outputs[0]))
	if err != nil {
		return status.Environment(err, "")
	}
	for _, m := range machine.Summarize(files) {
		res.Machines = append(res.Machines, m.Name())
	}
	if j.req.Verify {
		if err := machine.Verify(files, j.system); err != nil {
			return status.Check(err, "the build produced binaries for another CPU; check the derivation's system and cross-compilation settings")
		}
	}
	return nil
}
