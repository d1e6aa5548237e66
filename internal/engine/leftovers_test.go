package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nixcross/nixcross/internal/proc"
)

// TestContainersStale: one rule says what is stale, for the sweep and
// for clean: dead runs of this machine, neither kept nor installed.
func TestContainersStale(t *testing.T) {
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadRun := fmt.Sprintf("%s:%d", host, dead.Process.Pid)
	liveRun := fmt.Sprintf("%s:%d", host, os.Getppid())
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
