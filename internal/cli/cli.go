// Package cli owns nixcross's command line: the cobra command tree, the
// streams and terminal facts every command gets, signal handling, and the
// one place where errors become messages and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// Streams are the process's standard streams, injected for tests.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
}

// StdStreams returns the real standard streams.
func StdStreams() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv}
}

func (s Streams) getenv(k string) string {
	if s.Getenv == nil {
		return os.Getenv(k)
	}
	return s.Getenv(k)
}

// errInterrupted is the cancellation cause of a root context stopped by a signal.
var errInterrupted = errors.New("interrupted")

// Main runs nixcross with args and returns the exit code. The root context
// is cancelled on SIGINT/SIGTERM (teardown then runs on a context that
// outlives it); a second signal stops waiting for teardown.
func Main(args []string, streams Streams) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(streams.Err, "\nnixcross: %s: stopping the build and removing its container (press Ctrl-C again to quit at once)\n", sig)
		cancel(errInterrupted)
		if _, ok := <-sigs; ok {
			fmt.Fprintln(streams.Err, "nixcross: quitting without cleanup; `nixcross clean` removes what is left")
			os.Exit(status.ExitInterrupted)
		}
	}()
	return Run(ctx, args, streams)
}

// Run executes the command line and maps the outcome to an exit code.
func Run(ctx context.Context, args []string, streams Streams) int {
	app := newApp(streams)
	root := app.rootCommand()
	root.SetArgs(joinOptionPairs(args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return status.ExitOK
	}
	if !app.ran {
		err = usageError(err)
	}
	if errors.Is(context.Cause(ctx), errInterrupted) || errors.Is(err, errInterrupted) {
		fmt.Fprintln(streams.Err, "Error: interrupted")
		return status.ExitInterrupted
	}
	if !silent(err) {
		printError(streams.Err, err)
	}
	return status.ExitCode(err)
}

// silentError has already been reported (e.g. per build in a summary).
type silentError struct{ error }

func (s *silentError) Unwrap() error { return s.error }

// silent reports whether err was said already: a silentError, or a
// process's own exit status passed through (nixcross shell -- false) with
// nothing else joined to it.
func silent(err error) bool {
	var quiet *silentError
	if errors.As(err, &quiet) {
		return true
	}
	switch e := err.(type) {
	case *status.ExitStatus:
		return true
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if !silent(inner) {
				return false
			}
		}
		return true
	}
	return false
}

// printError is where every error reaches the terminal, so it is the one
// place that makes them visible (ui.VisibleLines): an error can carry any
// name a build made and the tail of its log. Lines stay lines; places that
// put a build's names on one line escape them there (ui.Visible).
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "Error: %s\n", ui.VisibleLines(err.Error()))
	if hint := status.HintOf(err); hint != "" {
		fmt.Fprintf(w, "Hint: %s\n", ui.VisibleLines(hint))
	}
}

// app is what every command shares: streams and global flags.
type app struct {
	streams Streams
	global  globalOptions
	// ran: a command's own code started; an error before it (cobra's:
	// an unknown command, a wrong argument count) is the user's.
	ran bool
}

type globalOptions struct {
	host    string
	context string
	quiet   bool
	verbose bool
}

func newApp(s Streams) *app { return &app{streams: s} }

// reporter builds the human-output writer for stderr from terminal facts.
func (a *app) reporter() *ui.Reporter {
	o := ui.Options{Quiet: a.global.quiet, NoColor: a.streams.getenv("NO_COLOR") != ""}
	if f, ok := a.streams.Err.(*os.File); ok {
		if fd, isTerm := term.GetFdInfo(f); isTerm {
			o.TTY = true
			if ws, err := term.GetWinsize(fd); err == nil {
				o.Width = int(ws.Width)
			}
		}
	}
	if a.streams.getenv("TERM") == "dumb" {
		o.TTY = false
	}
	return ui.New(a.streams.Err, o)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "nixcross",
		Short: "Build Nix flakes for other architectures inside Docker",
		Long: `nixcross builds a Nix flake for another CPU architecture inside a Docker
container, using QEMU through binfmt_misc when the target is foreign, and copies
the result with its whole Nix closure back to the host, verified against Nix's
own hashes. It needs Docker and nothing else: no local Nix, no QEMU setup.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(),
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetOut(a.streams.Out)
	root.SetErr(a.streams.Err)
	root.SetIn(a.streams.In)
	root.PersistentPreRun = func(*cobra.Command, []string) { a.ran = true }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return status.Usage(err, "see `"+c.CommandPath()+" --help`")
	})
	// --version without the -v shorthand cobra would add: -v is --verbose
	// on build.
	root.Flags().Bool("version", false, "print the nixcross version")
	pf := root.PersistentFlags()
	pf.StringVarP(&a.global.host, "host", "H", "", "Docker daemon socket to connect to (overrides DOCKER_HOST)")
	pf.StringVar(&a.global.context, "context", "", "Docker context to use (overrides DOCKER_CONTEXT and the current context)")
	pf.BoolVarP(&a.global.quiet, "quiet", "q", false, "print only errors on stderr")
	root.AddCommand(
		newBuildCommand(a),
		newCacheCommand(a),
		newCleanCommand(a),
		newShellCommand(a),
		newBinfmtCommand(a),
		newDoctorCommand(a),
		newFleetCommand(a),
		newKeyCommand(a),
		newVersionCommand(a),
	)
	completeValues(root)
	root.RegisterFlagCompletionFunc("context", completeContexts(a))
	return root
}

// asGroup makes cmd, a command of subcommands only, answer as the root
// does: alone it prints its help; with anything else it is a usage error
// naming the nearest subcommand (cobra would print the help and exit 0).
func asGroup(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	// Runnable now only to answer for unknown names: its usage shows the
	// subcommands alone, as before.
	cmd.SetUsageTemplate(strings.Replace(cmd.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return unknownCommand(c, args[0])
	}
	return cmd
}

// unknownCommand is the usage error for a subcommand name c lacks.
func unknownCommand(c *cobra.Command, name string) error {
	hint := "see `" + c.CommandPath() + " --help`"
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own for the root
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		hint = "did you mean `" + c.CommandPath() + " " + s[0] + "`?"
	}
	return status.Usage(fmt.Errorf("unknown command %q for %q", name, c.CommandPath()), hint)
}

// usageError gives an error cobra made before any command ran (an unknown
// command, a wrong argument count) its kind: the user's, exit 2.
func usageError(err error) error {
	if status.KindOf(err) != status.KindInternal {
		return err
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	hint := "see `nixcross --help`"
	if i := strings.Index(err.Error(), "Did you mean this?"); i >= 0 {
		if fields := strings.Fields(err.Error()[i+len("Did you mean this?"):]); len(fields) > 0 {
			hint = "did you mean `nixcross " + fields[0] + "`?"
		}
	}
	return status.Usage(errors.New(msg), hint)
}

func usageArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return status.Usage(fmt.Errorf("%s takes at most %d argument(s), got %d: %s", cmd.CommandPath(), n, len(args), strings.Join(args, " ")), "see `"+cmd.CommandPath()+" --help`")
		}
		return nil
	}
}

// usageArgsBetween accepts min to max arguments; fewer or more is exit 2.
func usageArgsBetween(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min {
			return status.Usage(fmt.Errorf("%s needs at least %d argument(s), got %d", cmd.CommandPath(), min, len(args)), "see `"+cmd.CommandPath()+" --help`")
		}
		return usageArgs(max)(cmd, args)
	}
}

func errTooManyArgs(n int) error { return fmt.Errorf("expected at most one FLAKE argument, got %d", n) }
