package build

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nixcross/nixcross/internal/closure"
	"github.com/nixcross/nixcross/internal/status"
)

// An export that timed out idle is exit 3 with the path and the interval
// in its message and the flag in its hint; a hash mismatch stays exit 1.
func TestExportFailureKinds(t *testing.T) {
	idle := fmt.Errorf("export /nix/store/x-hello: %w", &closure.IdleError{Path: "/nix/store/x-hello", Interval: 5 * time.Minute})
	err := exportFailure(context.Background(), idle, "/out", 1)
	var se *status.Error
	if status.KindOf(err) != status.KindExport || status.ExitCode(err) != 3 || !errors.As(err, &se) ||
		err.Error() != "export /nix/store/x-hello: the container sent nothing for 5m0s" || se.Hint == "" {
		t.Fatalf("idle export: %v (kind %v, exit %d)", err, status.KindOf(err), status.ExitCode(err))
	}
	mismatch := fmt.Errorf("export /nix/store/x-hello: %w", closure.ErrHashMismatch)
	if got := exportFailure(context.Background(), mismatch, "/out", 1); status.KindOf(got) != status.KindIntegrity {
		t.Fatalf("hash mismatch: kind %v", status.KindOf(got))
	}
}
