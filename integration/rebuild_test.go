//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRebuild: --rebuild on a deterministic derivation reports it
// reproducible; on one that writes the time, it names the file that
// differs (and not the one that does not), exits 1, and still exports the
// first build.
func TestRebuild(t *testing.T) {
	type verdict struct {
		Builds []struct {
			Link    string `json:"link"`
			Outputs []string
			Rebuild *struct {
				Reproducible bool     `json:"reproducible"`
				Output       string   `json:"output"`
				Differing    []string `json:"differing"`
			} `json:"rebuild"`
		} `json:"builds"`
	}
	parse := func(t *testing.T, stdout string) verdict {
		var v verdict
		if err := json.Unmarshal([]byte(stdout), &v); err != nil || len(v.Builds) != 1 || v.Builds[0].Rebuild == nil {
			t.Fatalf("no rebuild verdict in %q (%v)", stdout, err)
		}
		return v
	}

	t.Run("reproducible", func(t *testing.T) {
		r := nixcross(t, workdir(t), nil, append([]string{"build", fixtureDir + "#greeting", "--rebuild", "--json"}, offline...)...)
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		if v := parse(t, r.stdout); !v.Builds[0].Rebuild.Reproducible || len(v.Builds[0].Rebuild.Differing) != 0 {
			t.Errorf("verdict %+v, want reproducible", v.Builds[0].Rebuild)
		}
		if !strings.Contains(r.stderr, "rebuild  reproducible") {
			t.Error("the summary does not say it is reproducible")
		}
	})

	t.Run("writes the time", func(t *testing.T) {
		r := nixcross(t, workdir(t), nil, append([]string{"build", fixtureDir + "#clock", "--rebuild", "--json"}, offline...)...)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1", r.code)
		}
		b := parse(t, r.stdout).Builds[0]
		if b.Rebuild.Reproducible || len(b.Outputs) != 1 || b.Rebuild.Output != b.Outputs[0] {
			t.Fatalf("verdict %+v for outputs %q", b.Rebuild, b.Outputs)
		}
		want := b.Outputs[0] + "/share/built-at"
		if len(b.Rebuild.Differing) != 1 || b.Rebuild.Differing[0] != want {
			t.Errorf("differing %q, want only %s", b.Rebuild.Differing, want)
		}
		if b.Link != "result" {
			t.Errorf("the first build was not exported: link %q", b.Link)
		}
		if !strings.Contains(r.stderr, "not reproducible") || !strings.Contains(r.stderr, "share/built-at") {
			t.Error("stderr does not name the differing file")
		}
	})
}
