package engine

import (
	"context"
	"testing"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// diskUsageAPI answers DiskUsage as the client does against API 1.52 and
// later: volumes are listed only when the call asks for Verbose.
type diskUsageAPI struct{ API }

func (diskUsageAPI) DiskUsage(ctx context.Context, o client.DiskUsageOptions) (client.DiskUsageResult, error) {
	var r client.DiskUsageResult
	if o.Volumes && o.Verbose {
		r.Volumes.Items = []volume.Volume{{Name: "nixcross-store-a", UsageData: &volume.UsageData{Size: 4096}}}
	}
	return r, nil
}

// TestVolumeSizesOnCurrentAPIs: cache ls and doctor get volume sizes from
// daemons of API 1.52 and later too (they showed "?" there).
func TestVolumeSizesOnCurrentAPIs(t *testing.T) {
	e := &Engine{API: diskUsageAPI{}}
	if got := e.VolumeSizes(context.Background()); got["nixcross-store-a"] != 4096 {
		t.Errorf("sizes %v", got)
	}
}
