package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/moby/term"
	"github.com/spf13/pflag"
)

// removal is how a command that deletes what cannot be rebuilt cheaply
// (every cache volume, builder image, installed emulation) asks first:
// on a terminal it asks, -f/--force does not, --dry-run only lists.
// Off a terminal nobody can answer, so it goes ahead, as before (scripts
// and CI call it that way).
type removal struct {
	force, dryRun bool
}

func (r *removal) flags(f *pflag.FlagSet) {
	f.BoolVarP(&r.force, "force", "f", false, "do not ask before removing everything (--all)")
	f.BoolVar(&r.dryRun, "dry-run", false, "only list what would be removed")
}

// confirm asks whether to remove what (a sentence) when a person is at a
// terminal; false means they said no, and nothing is removed.
func (r removal) confirm(a *app, what string) bool {
	if r.force || r.dryRun || !a.interactive() {
		return true
	}
	fmt.Fprintf(a.streams.Err, "%s. Continue? [y/N] ", what)
	line, _ := bufio.NewReader(a.streams.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	fmt.Fprintln(a.streams.Err, "nothing removed")
	return false
}

// interactive reports whether a person can answer: stdin and stderr are
// terminals.
func (a *app) interactive() bool {
	in, ok := a.streams.In.(*os.File)
	if !ok {
		return false
	}
	errf, ok := a.streams.Err.(*os.File)
	if !ok {
		return false
	}
	_, inTerm := term.GetFdInfo(in)
	_, errTerm := term.GetFdInfo(errf)
	return inTerm && errTerm
}
