//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// buildersReachNoCredentials (issue 21): app#snoop is a hostile derivation
// (the fixture builder's snoop mode) that looks for every credential
// nixcross forwards: it asks every socket it finds for ssh identities,
// reads every process's environment and command line, the secrets tmpfs
// and every netrc or credentials file it can find, and writes all of it
// into its output. Built with an agent holding the private input's key,
// an access token and a netrc forwarded, by default and under --sandbox,
// in the same run that fetches the private input through the agent, it
// runs as a build user and finds none of them.
func buildersReachNoCredentials(t *testing.T, app string, env []string, keyBody, publicKey string) {
	const token, password = "github.com=ghp_TRUSTBOUNDARYTOKEN", "TRUSTBOUNDARYPASSWORD"
	netrc := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(netrc, []byte("machine example.org login ci password "+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "NIX_CONFIG=access-tokens = "+token+"\nnetrc-file = "+netrc)
	secrets := []string{token, "TRUSTBOUNDARYTOKEN", password, keyBody, publicKey, "IDENTITIES"}
	for _, mode := range []string{"default", "sandbox"} {
		t.Run(mode, func(t *testing.T) {
			args := slices.Concat([]string{"build", app + "#snoop", "--system", "x86_64-linux", "--no-cache"}, offline)
			if mode == "sandbox" {
				args = append(args, "--sandbox")
			}
			wd := workdir(t)
			r := nixcross(t, wd, env, args...)
			if r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			found, err := os.ReadFile(filepath.Join(wd, "result", "found"))
			if err != nil {
				t.Fatal(err)
			}
			report := string(found)
			uid, _, _ := strings.Cut(strings.TrimPrefix(report, "uid "), " ")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("the builder ran as uid %q, want a build user's", uid)
			}
			if !strings.Contains(report, "message hello from a private repository") {
				t.Errorf("the run did not fetch the private input through the agent")
			}
			// It tried: the agent's socket (where it can see it), other
			// processes, the secrets.
			for _, tried := range []string{"/environ: ", "read /run/nixcross/netrc: ", "read /run/nixcross/credentials.conf: "} {
				if !strings.Contains(report, tried) {
					t.Errorf("the report lacks %q:\n%s", tried, report)
				}
			}
			if mode == "default" && !strings.Contains(report, "agent /run/nixcross-agent/agent.sock: dial unix /run/nixcross-agent/agent.sock: connect: permission denied") {
				t.Errorf("the builder did not meet the agent's socket refused:\n%s", report)
			}
			for _, s := range secrets {
				if strings.Contains(report, s) {
					t.Errorf("the builder found %q:\n%s", s, report)
				}
			}
		})
	}
}
