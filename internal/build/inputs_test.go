package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/flake"
	"github.com/nixcross/nixcross/internal/system"
)

func TestInputFiles(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "lib")
	for _, f := range []string{"flake.nix", "untracked", "data/file"} {
		os.MkdirAll(filepath.Dir(filepath.Join(repo, f)), 0o755)
		if err := os.WriteFile(filepath.Join(repo, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "flake.nix", "data/file"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	tarball := filepath.Join(root, "src.tar.gz")
	if err := os.WriteFile(tarball, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A git input: the tracked files and the whole history, nothing untracked.
	top, files, err := inputFiles(flake.Input{Top: repo, Git: true})
	if err != nil {
		t.Fatal(err)
	}
	if top != repo || !slices.Contains(files, "flake.nix") || !slices.Contains(files, "data/file") ||
		!slices.Contains(files, ".git/HEAD") || !slices.Contains(files, ".git/index") || slices.Contains(files, "untracked") {
		t.Errorf("git input: top %s, files %q", top, files)
	}
	// A path input: everything, as Nix's path fetcher hashes it.
	_, files, err = inputFiles(flake.Input{Top: repo})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "untracked") || !slices.Contains(files, ".git/HEAD") {
		t.Errorf("path input: files %q", files)
	}
	// A file input goes alone into its directory.
	top, files, err = inputFiles(flake.Input{Top: tarball})
	if err != nil || top != root || !reflect.DeepEqual(files, []string{"src.tar.gz"}) {
		t.Errorf("file input: top %s, files %q, %v", top, files, err)
	}
}

func TestInputsMountedAtTheirOwnPathAndChecked(t *testing.T) {
	inputs := []flake.Input{{Top: "/home/me/lib", Git: true}, {Top: "/srv/it's data"}}
	mounts := inputMounts(inputs)
	if len(mounts) != 2 || mounts[0].Source != "/home/me/lib" || mounts[0].Target != "/home/me/lib" || !mounts[0].ReadOnly || mounts[1].Target != "/srv/it's data" {
		t.Errorf("mounts = %+v", mounts)
	}
	prep := Prepared{Source: FlakeSource{Local: true, ContainerDir: "/home/me/app"}, Inputs: inputs}
	want := `true && [ -f '/home/me/app/flake.nix' ] && [ -e '/home/me/lib/.git' ] && [ -n "$(ls -A '/srv/it'\''s data' 2>/dev/null)" ]`
	if got := mountCheck(prep); got != want {
		t.Errorf("mountCheck =\n%s\nwant\n%s", got, want)
	}
}

func TestContainerSpecMountsInputsAndAgent(t *testing.T) {
	aarch64, err := system.Parse("aarch64-linux")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []flake.Input{{Top: "/home/me/lib", Git: true}}
	tests := []struct {
		name   string
		prep   Prepared
		mode   SourceMode
		target []string // bind mount targets, in order
	}{
		{"mount: flake, input, agent", Prepared{Source: FlakeSource{Local: true, Top: "/home/me/app", ContainerTop: "/home/me/app"}, Inputs: inputs, agent: "/tmp/agent.sock"}, SourceMount,
			[]string{"/home/me/app", "/home/me/lib", agentSocket}},
		{"copy: only the agent", Prepared{Source: FlakeSource{Local: true, Top: "/home/me/app", ContainerTop: "/home/me/app"}, Inputs: inputs, agent: "/tmp/agent.sock"}, SourceCopy,
			[]string{agentSocket}},
		{"flake Nix fetches, local override", Prepared{Inputs: inputs}, SourceMount,
			[]string{"/home/me/lib"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range containerSpec(tt.prep, tt.mode, aarch64, "build").Mounts {
				if m.Type == mount.TypeBind {
					got = append(got, m.Target)
				}
			}
			if !reflect.DeepEqual(got, tt.target) {
				t.Errorf("bind mounts at %q, want %q", got, tt.target)
			}
		})
	}
}
