package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/status"
)

func TestParseShip(t *testing.T) {
	s, err := parseShip(imageOptions{tag: "127.0.0.1:5000/app", load: true, push: true, entrypoint: "bin/app"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Wanted() || s.Tag.TagStr() != "latest" || s.Ref != "127.0.0.1:5000/app" || !s.Load || !s.Push || s.Entrypoint != "bin/app" {
		t.Errorf("ship %+v", s)
	}
	if s, err := parseShip(imageOptions{}); err != nil || s.Wanted() {
		t.Errorf("no --tag: %+v, %v; want no image", s, err)
	}
	layout := t.TempDir()
	if s, err := parseShip(imageOptions{tag: "app:1", ociOut: layout}); err != nil || s.LayoutDir != layout {
		t.Errorf("--oci-out of an empty directory: %+v, %v", s, err)
	}
	used := t.TempDir()
	os.WriteFile(filepath.Join(used, "notes.txt"), nil, 0o644)
	bad := []struct {
		name string
		o    imageOptions
		msg  string
	}{
		{"load alone", imageOptions{load: true}, "--load needs --tag"},
		{"push alone", imageOptions{push: true}, "--push-image needs --tag"},
		{"layout alone", imageOptions{ociOut: layout}, "--oci-out needs --tag"},
		{"entrypoint alone", imageOptions{entrypoint: "bin/x"}, "--entrypoint needs --tag"},
		{"bad ref", imageOptions{tag: "Not A Ref"}, "--tag Not A Ref"},
		{"digest", imageOptions{tag: "app@sha256:" + strings.Repeat("0", 64)}, "--tag app@sha256"},
		{"someone's directory", imageOptions{tag: "app:1", ociOut: used}, "not an OCI image layout"},
	}
	for _, b := range bad {
		_, err := parseShip(b.o)
		if err == nil || !strings.Contains(err.Error(), b.msg) || status.ExitCode(err) != status.ExitUsage {
			t.Errorf("%s: got %v (exit %d), want usage error containing %q", b.name, err, status.ExitCode(err), b.msg)
		}
	}
}
