package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/ui"
)

// Entrypoint chooses the program an image of output runs, dir saying where
// a store path is on the host: given (--entrypoint bin/NAME, relative to
// the output) when set, else the output's meta.mainProgram, else its only
// executable in bin/. Anything else is for the user to choose (exit 2).
func Entrypoint(output string, dir func(storePath string) string, mainProgram, given string) (string, error) {
	// Lstat: a program is often a link to another store path, which
	// resolves in the image, not on this machine.
	has := func(p string) bool {
		_, err := os.Lstat(filepath.Join(hostDir(dir, path.Dir(p)), path.Base(p)))
		return err == nil
	}
	switch {
	case given != "":
		rel := path.Clean(given)
		if path.IsAbs(rel) || rel == "." || strings.HasPrefix(rel, "../") || rel == ".." {
			return "", status.Usage(fmt.Errorf("--entrypoint %s must name a program inside the output, such as bin/NAME", ui.Visible(given)), "")
		}
		if !has(output + "/" + rel) {
			return "", status.Usage(fmt.Errorf("--entrypoint %s: %s has no %s", ui.Visible(given), ui.Visible(output), ui.Visible(rel)), "")
		}
		return output + "/" + rel, nil
	case mainProgram != "":
		if strings.Contains(mainProgram, "/") {
			return "", status.Usage(fmt.Errorf("meta.mainProgram of %s is %s, not a name in bin/", ui.Visible(output), ui.Visible(mainProgram)), "choose the program with --entrypoint bin/NAME")
		}
		if !has(output + "/bin/" + mainProgram) {
			return "", status.Usage(fmt.Errorf("meta.mainProgram of %s is %s, which its bin/ does not have", ui.Visible(output), ui.Visible(mainProgram)), "choose the program with --entrypoint bin/NAME")
		}
		return output + "/bin/" + mainProgram, nil
	}
	programs, err := programs(hostDir(dir, output+"/bin"))
	if err != nil {
		return "", status.Environment(fmt.Errorf("find the program of %s: %w", ui.Visible(output), err), "")
	}
	if len(programs) == 1 {
		return output + "/bin/" + programs[0], nil
	}
	what := "no executable in bin/"
	if len(programs) > 1 {
		quoted := make([]string, len(programs))
		for i, p := range programs {
			quoted[i] = ui.Visible(p)
		}
		what = fmt.Sprintf("%d executables in bin/ (%s)", len(programs), strings.Join(quoted, ", "))
	}
	return "", status.Usage(fmt.Errorf("the image needs a program to run: %s has no meta.mainProgram and %s", ui.Visible(output), what),
		"choose it with --entrypoint bin/NAME (a path inside the output)")
}

// programs lists the executables (and links, which in a store are
// usually to one) directly in dir; none when dir does not exist.
func programs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type()&os.ModeSymlink != 0 {
			out = append(out, e.Name())
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// hostDir is where the directory p, under /nix/store, is on the host,
// following links from one store path to another as the image's file
// system would (an output's bin/ can be a link to another's): the
// closure is under dir, not the host's /nix/store. A link that leaves the
// store is not followed.
func hostDir(dir func(storePath string) string, p string) string {
	for range 40 { // Linux's limit on links in one lookup
		parts := strings.Split(strings.TrimPrefix(p, storeDir), "/")
		cur := storeDir + parts[0]
		host := dir(cur)
		next := ""
		for i, c := range parts[1:] {
			cur += "/" + c
			host = filepath.Join(host, c)
			fi, err := os.Lstat(host)
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				continue
			}
			target, err := os.Readlink(host)
			if err != nil {
				return host
			}
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(cur), target)
			}
			next = path.Join(append([]string{target}, parts[i+2:]...)...)
			break
		}
		if next == "" || !strings.HasPrefix(next, storeDir) {
			return host
		}
		p = next
	}
	return dir(p)
}

const storeDir = "/nix/store/"
