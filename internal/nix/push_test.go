package nix

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPushScript runs the push script with stand-ins for nix and chown
// that log their arguments, so the order, the flags and the stop at the
// first failure are checked with a real sh.
func TestPushScript(t *testing.T) {
	paths := []string{"/nix/store/bbbb-x", "/nix/store/cccc-x-dev"}
	cases := []struct {
		name string
		push Push
		fail string // a nix subcommand that fails
		want []string
	}{
		{"signed closure to a host directory",
			Push{URL: "file:///run/nixcross/push/0", Closure: true, KeyFile: "/run/nixcross/keys/sign.sec", ChownDir: "/run/nixcross/push/0", ChownTo: "1000:1000"}, "",
			[]string{
				"nix store sign --recursive --key-file /run/nixcross/keys/sign.sec /nix/store/bbbb-x /nix/store/cccc-x-dev",
				"nix copy --to file:///run/nixcross/push/0 /nix/store/bbbb-x /nix/store/cccc-x-dev",
				"chown -R 1000:1000 /run/nixcross/push/0",
			}},
		{"unsigned outputs", Push{URL: "ssh-ng://me@box"}, "",
			[]string{"nix copy --no-recursive --to ssh-ng://me@box /nix/store/bbbb-x /nix/store/cccc-x-dev"}},
		{"the user's options, each word kept", Push{URL: "https://cache.example.org", Closure: true, KeyFile: "/k", Options: []Option{{"ssl-cert-file", "/my certs/ca.pem"}, {"substituters", ""}}}, "",
			[]string{
				"nix store sign --option ssl-cert-file /my certs/ca.pem --option substituters  --recursive --key-file /k /nix/store/bbbb-x /nix/store/cccc-x-dev",
				"nix copy --option ssl-cert-file /my certs/ca.pem --option substituters  --to https://cache.example.org /nix/store/bbbb-x /nix/store/cccc-x-dev",
			}},
		{"failed copy stops", Push{URL: "file:///c", Closure: true, ChownDir: "/c", ChownTo: "1:1"}, "copy",
			[]string{"nix copy --to file:///c /nix/store/bbbb-x /nix/store/cccc-x-dev"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			for _, tool := range []string{"nix", "chown"} {
				stub := "#!/bin/sh\necho \"" + tool + " $*\" >> " + log + "\n[ \"$1\" != \"$FAIL\" ]\n"
				if err := os.WriteFile(filepath.Join(dir, tool), []byte(stub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c.push.Paths = paths
			args := PushScript(c.push)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAIL="+c.fail)
			err := cmd.Run()
			if (err != nil) != (c.fail != "") {
				t.Fatalf("exit: %v, want failure %v", err, c.fail != "")
			}
			got, _ := os.ReadFile(log)
			if lines := strings.Split(strings.TrimSpace(string(got)), "\n"); !reflect.DeepEqual(lines, c.want) {
				t.Fatalf("ran\n%s\nwant\n%s", got, strings.Join(c.want, "\n"))
			}
		})
	}
}

// Extra substituters come after the user's options, so an emptied
// substituters list (the tests' offline default) keeps them.
func TestBuildCommandSubstituters(t *testing.T) {
	cmd := BuildCommand(Installable{Flake: "/src", Attr: "hello"}, aarch64, "", BuildFlags{
		Options:      []Option{{"substituters", ""}},
		Substituters: []string{"file:///run/nixcross/substituters/0", "https://cache.example.org"},
		TrustedKeys:  []string{"a:AAAA", "b:BBBB"},
		Extra:        []string{"--show-trace"},
	})
	got := strings.Join(cmd, "|")
	want := "--option|substituters||--option|extra-substituters|file:///run/nixcross/substituters/0 https://cache.example.org|--option|extra-trusted-public-keys|a:AAAA b:BBBB|--show-trace|"
	if !strings.Contains(got, want) {
		t.Fatalf("got %q", cmd)
	}
}

func TestExplainUntrustedSubstitute(t *testing.T) {
	for _, warning := range []string{
		"warning: the substitute for '/nix/store/bbbb-x' from 'file:///run/nixcross/substituters/0' is not signed by any of the keys in 'trusted-public-keys'",            // Nix 2.8
		"warning: ignoring substitute for '/nix/store/bbbb-x' from 'file:///run/nixcross/substituters/0', as it's not signed by any of the keys in 'trusted-public-keys'", // Nix 2.26
	} {
		a := Explain(warning + "\nerror: unable to start any build; either increase '--max-jobs' or enable remote builds.")
		if a == nil || a.Kind != AdviceUntrusted || !strings.Contains(a.Message, "--trusted-key") {
			t.Errorf("%s: got %+v", warning, a)
		}
	}
}
