// Package status classifies errors by what went wrong for the user, so the
// CLI can map every failure to one exit code in one place and print one line
// of advice under the cause.
package status

import (
	"context"
	"errors"
	"fmt"
)

// Kind says whose problem an error is; it decides the exit code and the
// advice printed when the error carries no hint of its own.
type Kind int

const (
	// KindInternal: nothing classified the error (exit 4). Errors are
	// classified where their cause is known; one that reaches main
	// unclassified is a gap in nixcross, not a failed build.
	KindInternal Kind = iota
	// KindBuild: Nix ran and the build failed (exit 1).
	KindBuild
	// KindCheck: the build succeeded but its result failed a check the user
	// asked for: --verify, --dereference (exit 1).
	KindCheck
	// KindIntegrity: an exported path does not hash to Nix's NAR hash (exit 1).
	KindIntegrity
	// KindUsage: bad flags, arguments or input (exit 2).
	KindUsage
	// KindEnvironment: the machine (image, emulation, disk) cannot build (exit 3).
	KindEnvironment
	// KindDaemon: the Docker daemon is unreachable, went away, or refused the
	// connection (exit 3). It wins over any other kind in an error's chain:
	// every other symptom follows from it.
	KindDaemon
	// KindExport: the stream copying the result out of the container broke
	// (exit 3); verified paths are kept and the rerun resumes.
	KindExport
	// KindInterrupted: the user stopped the run (exit 130).
	KindInterrupted
	// KindStopped: the build container was stopped, killed or removed by
	// something other than nixcross while it built (exit 3).
	KindStopped
	// KindMemory: the build container, or a builder in it, ran out of
	// memory and the kernel killed it (exit 3).
	KindMemory
	// KindSpace: a disk filled up, on the daemon's side (the store volume,
	// the data root) or on the host's (the output store) (exit 3).
	KindSpace
)

// Exit codes, documented in README.
const (
	ExitOK          = 0
	ExitBuild       = 1
	ExitUsage       = 2
	ExitEnvironment = 3
	ExitInternal    = 4
	ExitInterrupted = 130
)

var kinds = map[Kind]struct {
	name   string
	code   int
	advice string
}{
	KindInternal:    {"internal", ExitInternal, "nixcross did not expect this failure: rerun with --verbose, and report it with that output if it persists"},
	KindBuild:       {"build", ExitBuild, "the failing derivation's log is above; --keep-failed keeps its build directory to inspect"},
	KindCheck:       {"check", ExitBuild, "the build finished but its result failed the check; the message says which"},
	KindIntegrity:   {"integrity", ExitBuild, "the copy does not match Nix's hash and was not published; rerun, and if it happens again check the store with `nixcross shell -- nix store verify --all`"},
	KindUsage:       {"usage", ExitUsage, "see the command's --help"},
	KindEnvironment: {"environment", ExitEnvironment, "`nixcross doctor` checks the daemon, the image, emulation and disk, and says what to fix"},
	KindDaemon:      {"daemon", ExitEnvironment, "check that the Docker daemon runs and answers (`docker info`, --host/DOCKER_HOST, --context), then rerun: what was left behind is swept"},
	KindExport:      {"export", ExitEnvironment, "rerun: verified paths are kept and the export resumes"},
	KindInterrupted: {"interrupted", ExitInterrupted, ""},
	KindStopped:     {"stopped", ExitEnvironment, "anyone who can reach the Docker daemon can stop its containers (docker stop or kill, Docker Desktop's stop button, a prune or cleanup job): rerun when nothing stops it"},
	KindMemory:      {"memory", ExitEnvironment, "give the build more memory: --memory SIZE, Docker Desktop's Settings > Resources > Memory, or fewer builds at once with --max-jobs 1 and --cores"},
	KindSpace:       {"space", ExitEnvironment, "free space where the message says, then rerun"},
}

// String names the kind, as in --json's "errorKind".
func (k Kind) String() string { return kinds[k].name }

// ExitCode is the process exit status for the kind.
func (k Kind) ExitCode() int { return kinds[k].code }

// Advice is the kind's one line of advice, for errors without a hint.
func (k Kind) Advice() string { return kinds[k].advice }

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

// Daemon marks err as the Docker daemon being unreachable, gone or refusing.
func Daemon(err error, hint string) error { return wrap(KindDaemon, err, hint) }

// Build marks err as a failed Nix build.
func Build(err error, hint string) error { return wrap(KindBuild, err, hint) }

// Check marks err as a built result failing a check the user asked for.
func Check(err error, hint string) error { return wrap(KindCheck, err, hint) }

// Integrity marks err as an exported path not matching Nix's hash.
func Integrity(err error, hint string) error { return wrap(KindIntegrity, err, hint) }

// Stopped marks err as the build container stopped from outside nixcross.
func Stopped(err error, hint string) error { return wrap(KindStopped, err, hint) }

// Memory marks err as the build running out of memory.
func Memory(err error, hint string) error { return wrap(KindMemory, err, hint) }

// Space marks err as a disk filling up.
func Space(err error, hint string) error { return wrap(KindSpace, err, hint) }

// Export marks err as the export stream breaking.
func Export(err error, hint string) error { return wrap(KindExport, err, hint) }

// ExitStatus passes a process's own exit status through (nixcross shell).
// It is silent: the process has said what it had to say.
type ExitStatus struct{ Code int }

func (e *ExitStatus) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// daemonError finds a KindDaemon error anywhere in err's tree (errors.Join
// and multi-system failures included).
func daemonError(err error) *Error {
	switch e := err.(type) {
	case nil:
		return nil
	case *Error:
		if e.Kind == KindDaemon {
			return e
		}
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if d := daemonError(inner); d != nil {
				return d
			}
		}
		return nil
	}
	return daemonError(errors.Unwrap(err))
}

// KindOf returns the kind of err: a lost daemon anywhere in the chain, else
// the outermost classification, else a cancelled context as an
// interruption, else KindInternal.
func KindOf(err error) Kind {
	if daemonError(err) != nil {
		return KindDaemon
	}
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	if errors.Is(err, context.Canceled) {
		return KindInterrupted
	}
	return KindInternal
}

// HintOf returns the hint for err: the lost daemon's, else the first found
// in err's chain, else the advice of its kind.
func HintOf(err error) string {
	if d := daemonError(err); d != nil && d.Hint != "" {
		return d.Hint
	}
	var se *Error
	for e := err; errors.As(e, &se); e = se.Err {
		if se.Hint != "" {
			return se.Hint
		}
	}
	return KindOf(err).Advice()
}

// ExitCode maps err to the process exit status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var es *ExitStatus
	if errors.As(err, &es) && daemonError(err) == nil {
		return es.Code
	}
	return KindOf(err).ExitCode()
}
