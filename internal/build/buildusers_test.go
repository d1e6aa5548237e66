package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

// TestBuildUsersScript runs the script that gives an --image image Nix's
// build users, with the host's sh, on /etc files of the shapes images
// have.
func TestBuildUsersScript(t *testing.T) {
	debian := "root:x:0:\nusers:x:100:\n"
	cases := []struct {
		name          string
		group, passwd string
		added         bool   // the group and users are added
		refused       string // the script fails, saying this
	}{
		{name: "none", group: debian, passwd: "root:x:0:0:root:/root:/bin/sh\n", added: true},
		{name: "no final newline", group: "root:x:0:", passwd: "root:x:0:0:root:/root:/bin/sh", added: true},
		{name: "present", group: debian + "nixbld:x:30000:nixbld1,nixbld2\n", passwd: "root:x:0:0::/root:/bin/sh\n"},
		{name: "present, other ID", group: debian + "nixbld:x:350:nixbld1\n", passwd: "root:x:0:0::/root:/bin/sh\n"},
		{name: "no members", group: debian + "nixbld:x:30000:\n", passwd: "root:x:0:0::/root:/bin/sh\n", refused: "the group nixbld has no members"},
		{name: "group ID taken", group: debian + "builders:x:30000:\n", passwd: "root:x:0:0::/root:/bin/sh\n", refused: "the group builders has ID 30000"},
		{name: "user ID taken", group: debian, passwd: "root:x:0:0::/root:/bin/sh\nci:x:30007:100::/home/ci:/bin/sh\n", refused: "the user ci has ID 30007"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			etc := t.TempDir()
			os.WriteFile(filepath.Join(etc, "group"), []byte(tc.group), 0o644)
			os.WriteFile(filepath.Join(etc, "passwd"), []byte(tc.passwd), 0o644)
			out, err := exec.Command("sh", "-c", buildUsersScript(), "build-users", etc).CombinedOutput()
			group, _ := os.ReadFile(filepath.Join(etc, "group"))
			passwd, _ := os.ReadFile(filepath.Join(etc, "passwd"))
			if tc.refused != "" {
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != exitNoBuildUsers || !strings.Contains(string(out), tc.refused) {
					t.Fatalf("err %v, output %q, want exit %d saying %q", err, out, exitNoBuildUsers, tc.refused)
				}
				if string(group) != tc.group || string(passwd) != tc.passwd {
					t.Errorf("a refused image's files changed:\n%s\n%s", group, passwd)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !tc.added {
				if string(group) != tc.group || string(passwd) != tc.passwd {
					t.Errorf("an image with build users changed:\n%s\n%s", group, passwd)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(string(group), "\n"), "\n")
			if lines[0] != strings.SplitN(tc.group, "\n", 2)[0] || !strings.HasPrefix(lines[len(lines)-1], "nixbld:x:30000:nixbld1,nixbld2,") || !strings.HasSuffix(lines[len(lines)-1], ",nixbld32") {
				t.Errorf("group file:\n%s", group)
			}
			users := strings.Split(strings.TrimSuffix(string(passwd), "\n"), "\n")
			if len(users) != 1+buildUsers || users[1] != "nixbld1:x:30001:30000:Nix build user 1:/var/empty:/bin/false" || !strings.HasPrefix(users[buildUsers], "nixbld32:x:30032:30000:") {
				t.Errorf("passwd file:\n%s", passwd)
			}
			// Run twice, it adds nothing.
			if out, err := exec.Command("sh", "-c", buildUsersScript(), "build-users", etc).CombinedOutput(); err != nil {
				t.Fatalf("second run: %v: %s", err, out)
			}
			again, _ := os.ReadFile(filepath.Join(etc, "passwd"))
			if string(again) != string(passwd) {
				t.Errorf("second run changed passwd")
			}
		})
	}
}

// TestBuildUsersForUserImages: containers of an --image image get the
// build users added before anything runs in them, the built-in image's
// (which has them) do not; an image where that fails is exit 3 with
// advice, and nothing is built.
func TestBuildUsersForUserImages(t *testing.T) {
	for _, image := range []string{"", "nixos/nix"} {
		flake, out := flakeDir(t)
		d := newDaemon()
		d.succeed()
		r, _, _ := d.runner()
		req := request(t, out)
		req.Image = image
		if _, err := r.Run(context.Background(), req, localFlake(flake)); err != nil {
			t.Fatalf("image %q: %v", image, err)
		}
		c := d.made()[0]
		at := slices.IndexFunc(c.cmds, func(cmd []string) bool { return len(cmd) > 3 && cmd[3] == "build-users" })
		build := slices.IndexFunc(c.cmds, func(cmd []string) bool { return len(cmd) > 3 && cmd[3] == "nix-build" })
		if (image != "") != (at >= 0) || at > build {
			t.Errorf("image %q: build users added at command %d, the build at %d", image, at, build)
		}
	}

	flake, out := flakeDir(t)
	d := newDaemon()
	d.succeed()
	d.buildUsers = func() (string, int) { return "the group nixbld has no members\n", exitNoBuildUsers }
	r, _, _ := d.runner()
	req := request(t, out)
	req.Image = "example/nix"
	_, err := r.Run(context.Background(), req, localFlake(flake))
	if status.ExitCode(err) != status.ExitEnvironment || !strings.Contains(err.Error(), "the group nixbld has no members") || status.HintOf(err) != buildUsersHint {
		t.Fatalf("err = %v (hint %q)", err, status.HintOf(err))
	}
	c := d.made()[0]
	if slices.ContainsFunc(c.cmds, func(cmd []string) bool { return len(cmd) > 3 && cmd[3] == "nix-build" }) || !c.removed {
		t.Errorf("built %v, removed %v", c.cmds, c.removed)
	}
}

// TestAgentDirectory: the ssh agent's socket is mounted in a directory
// only root may enter, whatever the socket's own mode.
func TestAgentDirectory(t *testing.T) {
	m := agentMounts("/tmp/ssh-x/agent.1")
	if len(m) != 2 || m[0].Target != agentDir || m[0].TmpfsOptions == nil || m[0].TmpfsOptions.Mode != 0o700 || m[1].Source != "/tmp/ssh-x/agent.1" || filepath.Dir(m[1].Target) != agentDir {
		t.Errorf("mounts %+v", m)
	}
	if agentMounts("") != nil {
		t.Error("mounts without an agent")
	}
}
