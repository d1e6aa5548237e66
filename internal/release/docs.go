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
	root := docTree()

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

	date := s.Date
	header := &doc.GenManHeader{Title: "NIXCROSS", Section: "1", Source: "nixcross " + s.Version, Manual: "nixcross manual", Date: &date}
	man, err := genTree("man/man1/", func(dir string) error { return doc.GenManTree(root, header, dir) })
	if err != nil {
		return nil, err
	}
	return append(files, man...), nil
}

// ReferenceDir is where the Markdown command reference is checked in,
// relative to the repository's root (make docs writes it).
const ReferenceDir = "docs/reference"

// Reference is the command reference in Markdown, one page per command
// (nixcross.md, nixcross_build.md, …), generated from the same command tree
// as the man pages; names are relative to ReferenceDir. It carries no date
// or version, so the checked-in pages change only when the commands do.
func Reference() ([]File, error) {
	root := docTree()
	return genTree("", func(dir string) error { return doc.GenMarkdownTree(root, dir) })
}

// docTree is nixcross's command tree as the generated docs show it.
func docTree() *cobra.Command {
	root := cli.Command()
	root.DisableAutoGenTag = true
	// cobra adds these two at run time; a generated tree should show them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// genTree runs one of cobra/doc's tree generators, which write a file per
// command into a directory, and returns the files in name order, each name
// prefixed.
func genTree(prefix string, gen func(dir string) error) ([]File, error) {
	dir, err := os.MkdirTemp("", "nixcross-docs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := gen(dir); err != nil {
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
	var files []File
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: prefix + n, Mode: 0o644, Data: data})
	}
	return files, nil
}
