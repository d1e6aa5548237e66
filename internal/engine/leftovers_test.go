package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/proc"
)

// runs returns run labels of this machine: a process that has exited and
// a live one.
func runs(t *testing.T) (dead, live string) {
	t.Helper()
	host, _ := os.Hostname()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", host, cmd.Process.Pid), fmt.Sprintf("%s:%d", host, os.Getppid())
}

// TestSweepLeftovers: RemoveStale, the sweep of every build, removes only containers of dead runs on this machine go;
// live runs, other machines, kept containers and installed emulation stay.
func TestSweepLeftovers(t *testing.T) {
	deadRun, liveRun := runs(t)
	items := []container.Summary{
		{ID: "dead-build", Names: []string{"/nixcross-build-x"}, Labels: map[string]string{LabelRun: deadRun, LabelRole: RoleBuild}},
		{ID: "dead-holder", Names: []string{"/h"}, Labels: map[string]string{LabelRun: deadRun, LabelRole: RoleBinfmt, LabelBinfmt: "hold"}},
		{ID: "live", Names: []string{"/nixcross-build-y"}, Labels: map[string]string{LabelRun: liveRun}},
		{ID: "other-host", Names: []string{"/z"}, Labels: map[string]string{LabelRun: "elsewhere:1"}},
		{ID: "kept", Names: []string{"/" + KeptPrefix + "aarch64-linux-1"}, Labels: map[string]string{LabelRun: deadRun}},
		{ID: "installed", Names: []string{"/nixcross-binfmt"}, Labels: map[string]string{LabelBinfmt: "install"}},
		{ID: "mine", Names: []string{"/nixcross-build-z"}, Labels: map[string]string{LabelRun: RunID()}},
	}
	var removed []string
	fake := &Fake{
		ContainerListFunc: func(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
			return client.ContainerListResult{Items: items}, nil
		},
		ContainerRemoveFunc: func(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			if !o.Force {
				t.Errorf("%s removed without force", id)
			}
			removed = append(removed, id)
			return client.ContainerRemoveResult{}, nil
		},
	}
	(&Engine{API: fake}).RemoveStale(context.Background())
	sort.Strings(removed)
	if fmt.Sprint(removed) != "[dead-build dead-holder]" {
		t.Fatalf("removed %v, want [dead-build dead-holder]", removed)
	}
}

// TestContainersStale: one rule says what is stale, for the sweep and
// for clean: dead runs of this machine, neither kept nor installed.
func TestContainersStale(t *testing.T) {
	host, _ := os.Hostname()
	deadRun, liveRun := runs(t)
	cases := []struct {
		name   string
		names  []string
		labels map[string]string
		run    RunState
		stale  bool
	}{
		{"this run", []string{"/a"}, map[string]string{LabelRun: RunID(), LabelRunScope: proc.Scope()}, RunThis, false},
		{"dead run", []string{"/b"}, map[string]string{LabelRun: deadRun}, RunDead, true},
		{"dead run, same scope", []string{"/b"}, map[string]string{LabelRun: deadRun, LabelRunScope: proc.Scope(), LabelRunBoot: proc.Boot()}, RunDead, true},
		{"live run", []string{"/c"}, map[string]string{LabelRun: liveRun, LabelRunScope: proc.Scope()}, RunLive, false},
		{"other PID namespace", []string{"/d"}, map[string]string{LabelRun: deadRun, LabelRunScope: "other", LabelRunBoot: proc.Boot()}, RunLive, false},
		{"earlier boot", []string{"/e"}, map[string]string{LabelRun: liveRun, LabelRunScope: "other", LabelRunBoot: "an-earlier-boot"}, RunDead, true},
		{"other machine", []string{"/f"}, map[string]string{LabelRun: "elsewhere:1"}, RunLive, false},
		{"malformed", []string{"/g"}, map[string]string{LabelRun: host + ":x"}, RunDead, true},
		{"no run", []string{"/h"}, map[string]string{}, RunNone, false},
		{"kept", []string{"/" + KeptPrefix + "x"}, map[string]string{LabelRun: deadRun}, RunDead, false},
		{"installed", []string{"/nixcross-binfmt"}, map[string]string{LabelBinfmt: BinfmtInstalled, LabelRun: deadRun}, RunDead, false},
	}
	for _, c := range cases {
		if c.name == "earlier boot" && proc.Boot() == "" {
			continue // no boot ID to compare here
		}
		f := &Fake{ContainerListFunc: func(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
			if !o.All {
				t.Error("stopped containers not listed")
			}
			return client.ContainerListResult{Items: []container.Summary{{ID: "x", Names: c.names, Labels: c.labels}}}, nil
		}}
		got, err := (&Engine{API: f}).Containers(context.Background(), "")
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", c.name, got, err)
		}
		if got[0].Run != c.run || got[0].Stale() != c.stale {
			t.Errorf("%s: run %v stale %v, want %v %v", c.name, got[0].Run, got[0].Stale(), c.run, c.stale)
		}
	}
}
