package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// oneShotFake is a daemon whose steps fail where the test says.
func oneShotFake(failAt Step, calls *[]string) *Fake {
	step := func(s Step) error {
		*calls = append(*calls, string(s))
		if s == failAt {
			return errors.New(string(s) + " refused")
		}
		return nil
	}
	return &Fake{
		ContainerCreateFunc: func(ctx context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			return client.ContainerCreateResult{ID: "c1"}, step(StepCreate)
		},
		CopyToContainerFunc: func(ctx context.Context, id string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
			return client.CopyToContainerResult{}, step(StepUpload)
		},
		ContainerStartFunc: func(ctx context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
			return client.ContainerStartResult{}, step(StepStart)
		},
		ContainerWaitFunc: func(ctx context.Context, id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
			res, errc := make(chan container.WaitResponse, 1), make(chan error, 1)
			if err := step(StepRun); err != nil {
				errc <- err
			} else {
				res <- container.WaitResponse{StatusCode: 3}
			}
			return client.ContainerWaitResult{Result: res, Error: errc}
		},
		ContainerLogsFunc: func(ctx context.Context, id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
			*calls = append(*calls, "logs")
			var b bytes.Buffer
			b.Write([]byte{1, 0, 0, 0, 0, 0, 0, 3})
			b.WriteString("out")
			b.Write([]byte{2, 0, 0, 0, 0, 0, 0, 3})
			b.WriteString("err")
			return io.NopCloser(&b), nil
		},
		ContainerRemoveFunc: func(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
			*calls = append(*calls, "remove")
			if ctx.Err() != nil {
				return client.ContainerRemoveResult{}, ctx.Err()
			}
			return client.ContainerRemoveResult{}, nil
		},
	}
}

// TestRunOnce: the container goes whatever step fails, and the failure
// names its step.
func TestRunOnce(t *testing.T) {
	cases := []struct {
		failAt Step
		want   []string
	}{
		{"", []string{"create", "upload", "start", "run", "logs", "remove"}},
		{StepCreate, []string{"create"}},
		{StepUpload, []string{"create", "upload", "remove"}},
		{StepStart, []string{"create", "upload", "start", "remove"}},
		{StepRun, []string{"create", "upload", "start", "run", "remove"}},
	}
	for _, c := range cases {
		var calls []string
		e := &Engine{API: oneShotFake(c.failAt, &calls)}
		var stdout, stderr bytes.Buffer
		code, err := e.RunOnce(context.Background(), OneShot{Upload: strings.NewReader("tar"), UploadDir: "/tmp", Stdout: &stdout, Stderr: &stderr})
		if !slices.Equal(calls, c.want) {
			t.Errorf("fail at %q: calls %v, want %v", c.failAt, calls, c.want)
		}
		if FailedStep(err) != c.failAt {
			t.Errorf("fail at %q: err %v names step %q", c.failAt, err, FailedStep(err))
		}
		if c.failAt == "" && (code != 3 || stdout.String() != "out" || stderr.String() != "err") {
			t.Errorf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
		}
	}

	// Removal survives the caller's cancellation.
	var calls []string
	ctx, cancel := context.WithCancel(context.Background())
	f := oneShotFake("", &calls)
	f.ContainerStartFunc = func(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
		cancel()
		return client.ContainerStartResult{}, context.Canceled
	}
	if _, err := (&Engine{API: f}).RunOnce(ctx, OneShot{}); FailedStep(err) != StepStart || strings.Contains(err.Error(), "remove") {
		t.Errorf("err = %v, want the start failure and a clean removal", err)
	}
}
