package release

import (
	"path"
	"regexp"
	"strings"
)

// Repository is where an archive's Markdown links to files it does not
// carry point instead.
const Repository = "https://github.com/nixcross/nixcross"

// relativeLink is a Markdown inline link's target, without its #anchor.
var relativeLink = regexp.MustCompile(`\]\(([^)\s#]+)(#[^)\s]*)?\)`)

// absoluteLinks rewrites each relative link in the Markdown files among
// files whose target the archive does not carry (README's CONTRIBUTING.md
// and bench/, for maintainers) into a link to that file in the repository
// at commit, so every link of an unpacked archive goes somewhere. Links to
// files it carries, addresses and anchors are left as they are.
func absoluteLinks(files []File, commit string) []File {
	if commit == "" {
		commit = "main"
	}
	carried := map[string]bool{}
	for _, f := range files {
		carried[f.Name] = true
	}
	out := make([]File, len(files))
	for i, f := range files {
		out[i] = f
		if !strings.HasSuffix(f.Name, ".md") {
			continue
		}
		text := relativeLink.ReplaceAllStringFunc(string(f.Data), func(m string) string {
			sub := relativeLink.FindStringSubmatch(m)
			target, anchor := sub[1], sub[2]
			if strings.Contains(target, ":") {
				return m // an address (https:, mailto:)
			}
			p := path.Join(path.Dir(f.Name), target)
			if carried[p] || strings.HasPrefix(p, "../") {
				return m
			}
			kind := "blob"
			if strings.HasSuffix(target, "/") {
				kind, p = "tree", p+"/"
			}
			return "](" + Repository + "/" + kind + "/" + commit + "/" + p + anchor + ")"
		})
		out[i].Data = []byte(text)
	}
	return out
}
