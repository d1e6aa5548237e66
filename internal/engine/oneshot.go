package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// OneShot is a container that runs its command once, to the end.
type OneShot struct {
	Spec ContainerSpec
	// Upload, when not nil, is a tar archive extracted at UploadDir before
	// the container starts (e.g. probes into a read-only container).
	Upload    io.Reader
	UploadDir string
	// Stdout and Stderr receive the output once the container stopped.
	Stdout, Stderr io.Writer
}

// Step names where RunOnce failed, for callers that explain each
// differently (a helper that will not start lacks privileges).
type Step string

const (
	StepCreate Step = "create"
	StepUpload Step = "upload"
	StepStart  Step = "start"
	StepRun    Step = "run" // waiting for it, or reading its output
)

// StepError is a RunOnce failure and the step it happened in. It reads
// as the underlying error.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// FailedStep returns the RunOnce step err comes from, "" for none.
func FailedStep(err error) Step {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// RunOnce creates the container, uploads, starts it, waits for it to
// stop, collects its output and removes it (also after ctx is cancelled).
// It returns the container's exit status; errors are *StepError.
func (e *Engine) RunOnce(ctx context.Context, job OneShot) (code int, err error) {
	id, err := e.CreateContainer(ctx, job.Spec)
	if err != nil {
		return -1, &StepError{StepCreate, err}
	}
	defer func() { err = errors.Join(err, e.RemoveContainer(ctx, id)) }()
	if job.Upload != nil {
		if err := e.PutArchive(ctx, id, job.UploadDir, job.Upload); err != nil {
			return -1, &StepError{StepUpload, err}
		}
	}
	if err := e.StartContainer(ctx, id); err != nil {
		return -1, &StepError{StepStart, err}
	}
	code, err = e.WaitContainer(ctx, id)
	if err != nil {
		return code, &StepError{StepRun, err}
	}
	if err := e.Output(ctx, id, false, job.Stdout, job.Stderr); err != nil {
		return code, &StepError{StepRun, err}
	}
	return code, nil
}

// Output copies a container's stdout and stderr to the writers (nil:
// discarded): what it printed so far, or with follow everything until it
// stops or ctx ends.
func (e *Engine) Output(ctx context.Context, id string, follow bool, stdout, stderr io.Writer) error {
	rc, err := e.API.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return fmt.Errorf("container logs: %w", err)
	}
	defer rc.Close()
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	_, err = stdcopy.StdCopy(stdout, stderr, rc)
	return err
}
