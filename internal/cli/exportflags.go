package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/status"
)

// exportOptions are the build flags about copying the result's closure
// out of the container (internal/closure.Export). They live here, not in
// build.go, which is long enough.
type exportOptions struct {
	idleTimeout   time.Duration
	checkExisting bool
}

// defaultExportIdleTimeout is generous: the stream stalls while Nix in
// the container pages a large path in from a slow cache volume, never for
// minutes; a producer that sends nothing for this long has stopped.
const defaultExportIdleTimeout = 5 * time.Minute

func addExportFlags(f *pflag.FlagSet, o *exportOptions) {
	f.DurationVar(&o.idleTimeout, "export-idle-timeout", defaultExportIdleTimeout, "fail the export (exit 3) when the container sends nothing for this `DURATION` (e.g. 30s, 10m); 0 waits for ever")
	f.BoolVar(&o.checkExisting, "check-existing", false, "hash the paths already in nix/store beside the out-link again, and replace those that differ from Nix's hash (by default they are trusted)")
}

// apply validates the flags into req.
func (o exportOptions) apply(req *build.Request) error {
	if o.idleTimeout < 0 {
		return status.Usage(fmt.Errorf("--export-idle-timeout cannot be negative, got %s", o.idleTimeout), "0 waits for ever")
	}
	req.ExportIdleTimeout = o.idleTimeout
	req.CheckExisting = o.checkExisting
	return nil
}
