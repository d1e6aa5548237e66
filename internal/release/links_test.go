package release

import (
	"strings"
	"testing"
)

// TestAbsoluteLinks: links to what the archive carries stay relative;
// links to files it does not carry go to the repository at the commit;
// addresses and anchors are untouched.
func TestAbsoluteLinks(t *testing.T) {
	files := []File{
		{Name: "README.md", Data: []byte("[usage](docs/usage.md#flags), [contributing](CONTRIBUTING.md), [bench](bench/README.md), [dir](bench/), [site](https://example.org/x.md), [here](#install)\n")},
		{Name: "docs/usage.md", Data: []byte("[hosts](docker-hosts.md#a-fleet) [arch](ARCHITECTURE.md) [maint](../CONTRIBUTING.md#tests)\n")},
		{Name: "docs/docker-hosts.md"},
		{Name: "docs/ARCHITECTURE.md"},
		{Name: "nixcross", Data: []byte("](CONTRIBUTING.md)")},
	}
	out := absoluteLinks(files, "abc123")
	repo := Repository + "/blob/abc123/"
	want := "[usage](docs/usage.md#flags), [contributing](" + repo + "CONTRIBUTING.md), [bench](" + repo + "bench/README.md), [dir](" + Repository + "/tree/abc123/bench/), [site](https://example.org/x.md), [here](#install)\n"
	if got := string(out[0].Data); got != want {
		t.Errorf("README:\n%s\nwant:\n%s", got, want)
	}
	if got, want := string(out[1].Data), "[hosts](docker-hosts.md#a-fleet) [arch](ARCHITECTURE.md) [maint]("+repo+"CONTRIBUTING.md#tests)\n"; got != want {
		t.Errorf("docs/usage.md:\n%s\nwant:\n%s", got, want)
	}
	if string(out[4].Data) != "](CONTRIBUTING.md)" {
		t.Errorf("a binary was rewritten")
	}
	if !strings.Contains(string(files[0].Data), "](CONTRIBUTING.md)") {
		t.Errorf("the input was changed in place")
	}
}
