package build

import (
	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/nix"
)

// built is the output of the "query closure" stage: what Nix built and
// everything it needs, with Nix's NAR hashes.
type built struct {
	outputs []string
	closure closure.Closure
	// derivations maps each output to the derivation that built it.
	derivations map[string]string
}

// queryClosure reads the build script's stdout: `nix build --json`, then
// `nix path-info --json --recursive` of its outputs (one exec does both,
// see nix.BuildScript). outputs is filled as soon as it is known.
func queryClosure(stdout []byte) (built, error) {
	var b built
	buildJSON, closureJSON, err := nix.SplitBuildOutput(stdout)
	if err != nil {
		return b, err
	}
	if b.outputs, err = nix.ParseBuildJSON(buildJSON); err != nil {
		return b, err
	}
	if b.derivations, err = nix.Derivations(buildJSON); err != nil {
		return b, err
	}
	b.closure, err = closure.ParsePathInfo(closureJSON)
	return b, err
}
