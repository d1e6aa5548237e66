// Package status classifies errors by what went wrong for the user, so the
// CLI can map every failure to one exit code in one place and print one line
// of advice under the cause.
package status

import (
	"context"
	"errors"
	"fmt"
)

// Kind says whose problem an error is; it decides the exit code.
type Kind int

const (
	// KindBuild: Nix ran and the build failed (exit 1).
	KindBuild Kind = iota + 1
	// KindUsage: bad flags, arguments or input (exit 2).
	KindUsage
	// KindEnvironment: Docker, the image or emulation is not usable (exit 3).
	KindEnvironment
	// KindInterrupted: the user stopped the run (exit 130).
	KindInterrupted
)

// Exit codes, documented in README.
const (
	ExitOK          = 0
	ExitBuild       = 1
	ExitUsage       = 2
	ExitEnvironment = 3
	ExitInterrupted = 130
)

// Error carries a Kind and an optional hint (the command or action that
// fixes it) with the underlying cause.
type Error struct {
	Kind Kind
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func wrap(k Kind, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err, Hint: hint}
}

// Usage marks err as the user's input being wrong.
func Usage(err error, hint string) error { return wrap(KindUsage, err, hint) }

// Environment marks err as the machine (Docker, emulation, disk) being unable to build.
func Environment(err error, hint string) error { return wrap(KindEnvironment, err, hint) }

// Build marks err as a failed Nix build.
func Build(err error, hint string) error { return wrap(KindBuild, err, hint) }

// ExitStatus passes a process's own exit status through (nixcross shell).
type ExitStatus struct{ Code int }

func (e *ExitStatus) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// KindOf returns the kind of err. A cancelled context counts as an
// interruption; anything unclassified counts as a build failure (exit 1),
// the conservative answer for CI.
func KindOf(err error) Kind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	if errors.Is(err, context.Canceled) {
		return KindInterrupted
	}
	return KindBuild
}

// HintOf returns the first hint found in err's chain.
func HintOf(err error) string {
	var se *Error
	for e := err; errors.As(e, &se); e = se.Err {
		if se.Hint != "" {
			return se.Hint
		}
	}
	return ""
}

// ExitCode maps err to the process exit status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var es *ExitStatus
	if errors.As(err, &es) {
		return es.Code
	}
	switch KindOf(err) {
	case KindUsage:
		return ExitUsage
	case KindEnvironment:
		return ExitEnvironment
	case KindInterrupted:
		return ExitInterrupted
	default:
		return ExitBuild
	}
}
