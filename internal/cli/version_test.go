package cli

import (
	"bytes"
	"context"
	"testing"
)

// TestVersionStamp: what the release build stamps is what `version` and
// `--version` print; unstamped parts are left out.
func TestVersionStamp(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	for _, c := range []struct {
		version, commit, date string
		want                  string
	}{
		{"v1.2.3", "0123abc", "2026-11-28T18:00:00Z", "nixcross v1.2.3 (commit 0123abc, built 2026-11-28T18:00:00Z)\n"},
		{"v1.2.3", "0123abc", "", "nixcross v1.2.3 (commit 0123abc)\n"},
		// A test binary has no module version, so "dev" stays.
		{"dev", "", "", "nixcross dev\n"},
	} {
		Version, Commit, Date = c.version, c.commit, c.date
		for _, args := range [][]string{{"version"}, {"--version"}} {
			var out, errb bytes.Buffer
			code := Run(context.Background(), args, Streams{Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
			if code != 0 || out.String() != c.want {
				t.Errorf("%v with %+v: exit %d, %q, want %q (stderr %q)", args, c, code, out.String(), c.want, errb.String())
			}
		}
	}
}
