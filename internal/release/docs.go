package release

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/nixcross/nixcross/internal/cli"
)

// Docs are the shell completions and man pages generated from nixcross's
// command tree, as archive members under completions/ and man/man1/.
// Dated by the stamp, not the clock, so they are the same for one commit.
func Docs(s Stamp) ([]File, error) {
	root := cli.Command()
	root.DisableAutoGenTag = true
	// cobra adds these two at run time; a generated tree should show them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()

	var files []File
	for _, c := range []struct {
		name string
		gen  func(*cobra.Command, *bytes.Buffer) error
	}{
		{"completions/nixcross.bash", func(c *cobra.Command, b *bytes.Buffer) error { return c.GenBashCompletionV2(b, true) }},
		{"completions/_nixcross", func(c *cobra.Command, b *bytes.Buffer) error { return c.GenZshCompletion(b) }},
		{"completions/nixcross.fish", func(c *cobra.Command, b *bytes.Buffer) error { return c.GenFishCompletion(b, true) }},
		{"completions/nixcross.ps1", func(c *cobra.Command, b *bytes.Buffer) error { return c.GenPowerShellCompletionWithDesc(b) }},
	} {
		var b bytes.Buffer
		if err := c.gen(root, &b); err != nil {
			return nil, err
		}
		files = append(files, File{Name: c.name, Mode: 0o644, Data: b.Bytes()})
	}

	// GenManTree writes one page per command into a directory.
	dir, err := os.MkdirTemp("", "nixcross-man-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	date := s.Date
	header := &doc.GenManHeader{Title: "NIXCROSS", Section: "1", Source: "nixcross " + s.Version, Manual: "nixcross manual", Date: &date}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return nil, err
	}
	pages, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range pages {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: "man/man1/" + n, Mode: 0o644, Data: data})
	}
	return files, nil
}
