//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckExisting: a file edited in the host's nix/store after the
// export stays behind result on a plain rerun (the default trusts what is
// there: the documented limit), and --check-existing finds it by its NAR
// hash, exports the path again and exits 0 with the file as Nix built it.
func TestCheckExisting(t *testing.T) {
	dir := workdir(t)
	args := append([]string{"build", fixtureDir + "#greeting", "--json"}, offline...)
	r := nixcross(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("first build: exit %d", r.code)
	}
	out := parseBuilds(t, r.stdout)[0].Outputs[0]
	greeting := filepath.Join(dir, strings.TrimPrefix(out, "/"), "greeting")
	built, err := os.ReadFile(greeting)
	if err != nil {
		t.Fatal(err)
	}
	// Store files are read-only: as anyone tampering would, chmod first.
	if err := os.Chmod(greeting, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(greeting, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(greeting, 0o444)

	r = nixcross(t, dir, nil, args...)
	if r.code != 0 || resultGreeting(t, dir) != "tampered" || strings.Contains(r.stderr, "differs from what Nix built") {
		t.Fatalf("rerun without --check-existing: exit %d, greeting %q; want 0 and the tampered file trusted", r.code, resultGreeting(t, dir))
	}

	r = nixcross(t, dir, nil, append(args, "--check-existing")...)
	if r.code != 0 {
		t.Fatalf("rerun with --check-existing: exit %d", r.code)
	}
	if got, _ := os.ReadFile(greeting); string(got) != string(built) {
		t.Fatalf("after --check-existing, greeting is %q, want %q as built", got, built)
	}
	if !strings.Contains(r.stderr, out+" in "+dir+" differs from what Nix built") {
		t.Errorf("stderr does not name the replaced path %s", out)
	}
	var doc struct {
		Builds []struct {
			Copied  struct{ Paths, Checked, Replaced int } `json:"copied"`
			Closure struct{ Paths int }                    `json:"closure"`
		} `json:"builds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Builds) != 1 {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	c := doc.Builds[0]
	if c.Copied.Replaced != 1 || c.Copied.Paths != 1 || c.Copied.Checked != c.Closure.Paths {
		t.Errorf("copied %+v with a closure of %d paths; want every path checked, the tampered one replaced and copied", c.Copied, c.Closure.Paths)
	}
	verifyExport(t, dir, nixPathInfo(t, []string{out}))
}
