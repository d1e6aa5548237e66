package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

// completeContexts offers the Docker contexts for --context.
func completeContexts(a *app) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return engine.ContextNames(engine.Selection{Getenv: a.streams.getenv}), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeValues completes flag values a shell can offer (systems, modes)
// in every command that has the flag.
func completeValues(cmd *cobra.Command) {
	fixed := map[string][]string{
		"source":    {"auto", "mount", "copy"},
		"push-what": {"closure", "outputs"},
	}
	for name, values := range fixed {
		if cmd.Flags().Lookup(name) != nil {
			cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if cmd.Flags().Lookup("system") != nil {
		cmd.RegisterFlagCompletionFunc("system", completeSystems)
	}
	for _, c := range cmd.Commands() {
		completeValues(c)
	}
}

// completeSystems offers the Linux systems, after what is typed so far of
// a comma-separated list.
func completeSystems(_ *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
	done := ""
	if i := strings.LastIndex(typed, ","); i >= 0 {
		done = typed[:i+1]
	}
	var out []string
	for _, s := range system.LinuxSystems() {
		out = append(out, done+s.String())
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
