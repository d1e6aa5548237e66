package nixcross

import (
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The user's and the maintainer's pages link to each other by relative
// paths and #anchors; a page moved or a heading renamed must not leave a
// link pointing at nothing.
func TestMarkdownLinksResolve(t *testing.T) {
	root := os.DirFS(".")
	pages := []string{"README.md", "CONTRIBUTING.md"}
	for _, dir := range []string{"docs", "bench"} {
		err := fs.WalkDir(root, dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
				pages = append(pages, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	anchors := map[string][]string{}
	anchorsOf := func(p string) ([]string, error) {
		if a, ok := anchors[p]; ok {
			return a, nil
		}
		data, err := fs.ReadFile(root, p)
		if err != nil {
			return nil, err
		}
		anchors[p] = headingAnchors(string(data))
		return anchors[p], nil
	}
	checked := 0
	for _, p := range pages {
		data, err := fs.ReadFile(root, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range markdownLinks(string(data)) {
			target, anchor, _ := strings.Cut(l.target, "#")
			file := p
			if target != "" {
				file = path.Join(path.Dir(p), target)
				if _, err := fs.Stat(root, file); err != nil {
					t.Errorf("%s:%d: link to %s: no such file or directory", p, l.line, l.target)
					continue
				}
			}
			checked++
			if anchor == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			as, err := anchorsOf(file)
			if err != nil {
				t.Errorf("%s:%d: link to %s: %v", p, l.line, l.target, err)
				continue
			}
			if !slices.Contains(as, anchor) {
				t.Errorf("%s:%d: link to %s: %s has no heading #%s", p, l.line, l.target, file, anchor)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d relative links found in %d pages; is the link parser broken?", checked, len(pages))
	}
}

type mdLink struct {
	line   int
	target string
}

var (
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s*\[[^\]]+\]:\s+(\S+)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
)

// markdownLinks lists the relative link targets of a Markdown page, outside
// code blocks and code spans: inline links and reference definitions.
// Absolute URLs (a scheme) and site-absolute paths are not checked.
func markdownLinks(md string) []mdLink {
	var links []mdLink
	for n, line := range proseLines(md) {
		line = codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, t := range targets {
			t = strings.Trim(t, "<>")
			if strings.Contains(t, "://") || strings.HasPrefix(t, "mailto:") || strings.HasPrefix(t, "/") {
				continue
			}
			links = append(links, mdLink{line: n, target: t})
		}
	}
	return links
}

// proseLines yields a page's lines outside fenced code blocks, numbered
// from 1: a fence's content is neither links nor headings.
func proseLines(md string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		fence := ""
		for i, line := range strings.Split(md, "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case fence != "":
				if strings.HasPrefix(trimmed, fence) {
					fence = ""
				}
			case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
				fence = trimmed[:3]
			default:
				if !yield(i+1, line) {
					return
				}
			}
		}
	}
}

var (
	atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	mdLinkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// headingAnchors lists the anchors GitHub gives a page's headings: the
// heading's text (link targets, code marks and emphasis dropped), lower
// case, with everything but letters, digits, spaces, hyphens and
// underscores removed and spaces made hyphens; a repeated anchor gets -1,
// -2…. Explicit <a name> and id anchors count too.
func headingAnchors(md string) []string {
	var out []string
	seen := map[string]int{}
	for _, line := range proseLines(md) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := githubAnchor(m[1])
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

func githubAnchor(heading string) string {
	text := mdLinkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestGitHubAnchors(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"Install", "install"},
		{"Any Docker host", "any-docker-host"},
		{"CI: the GitHub Action", "ci-the-github-action"},
		{"Emulation: QEMU 7.2 against QEMU 10.0", "emulation-qemu-72-against-qemu-100"},
		{"macOS, Linux and Windows: Podman", "macos-linux-and-windows-podman"},
		{"register QEMU for it: `nixcross binfmt install …`", "register-qemu-for-it-nixcross-binfmt-install-"},
		{"See [the builder](builder-image.md) now", "see-the-builder-now"},
		{"**Bold** and --flag_name", "bold-and---flag_name"},
	} {
		if got := githubAnchor(c.heading); got != c.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
	got := headingAnchors("# A\n```\n# not a heading\n```\n## A\n### B ###\n<a name=\"x\"></a>\n")
	if want := []string{"a", "a-1", "b", "x"}; !slices.Equal(got, want) {
		t.Errorf("headingAnchors = %q, want %q", got, want)
	}
}

func TestMarkdownLinksFound(t *testing.T) {
	md := "See [a](docs/a.md#x) and [b](b.md \"title\"), not `[c](c.md)` or <https://e.org> or [d](https://d.org).\n" +
		"```\n[e](e.md)\n```\n[f]: ../f.md\n"
	var got []string
	for _, l := range markdownLinks(md) {
		got = append(got, fmt.Sprintf("%d:%s", l.line, l.target))
	}
	if want := []string{"1:docs/a.md#x", "1:b.md", "5:../f.md"}; !slices.Equal(got, want) {
		t.Errorf("markdownLinks = %q, want %q", got, want)
	}
}

// Users' pages speak to users: no issue numbers, test names or documents
// they cannot read. Maintainers' pages (CONTRIBUTING.md, ARCHITECTURE.md,
// bench/) may name them.
func TestUserPagesSpeakToUsers(t *testing.T) {
	internal := regexp.MustCompile(`(?i:\bissue #?\d+|\bthe guide\b|\bguide's\b)|\bTest[A-Z]\w+`)
	pages, err := fs.Glob(os.DirFS("."), "docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	reference, err := fs.Glob(os.DirFS("."), "docs/reference/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(append(pages, reference...), "README.md")
	for _, p := range pages {
		if p == "docs/ARCHITECTURE.md" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := internal.FindString(line); m != "" {
				t.Errorf("%s:%d: %q is for maintainers", p, i+1, m)
			}
		}
	}
}
