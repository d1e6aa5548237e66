package build

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/status"
)

// Store is a Nix store URL given to --push, --to-cache or --substituter.
// A binary cache directory on the host (file://DIR) reaches the build
// container as a bind mount; every other store (ssh-ng://, s3://,
// https://…) Nix in the container reaches itself.
type Store struct {
	URL string // as the user wrote it, a file:// path made absolute
	// HostDir is the directory of a file:// store on the host, "" for others.
	HostDir string
	query   string // "?compression=zstd" and the like, kept for Nix
}

// ParseStore reads a store URL for flag (its name goes in the error).
func ParseStore(flag, url string) (Store, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok || scheme == "" || rest == "" {
		return Store{}, status.Usage(fmt.Errorf("%s %q is not a Nix store URL", flag, url), "write file:///path/to/cache, ssh-ng://user@host, s3://bucket or https://cache.example.org")
	}
	if scheme != "file" {
		return Store{URL: url}, nil
	}
	dir, query, _ := strings.Cut(rest, "?")
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Store{}, status.Usage(fmt.Errorf("%s %s: %w", flag, url, err), "")
	}
	s := Store{URL: "file://" + abs, HostDir: abs}
	if query != "" {
		s.query = "?" + query
		s.URL += s.query
	}
	return s, nil
}

// FileCache is the store --to-cache DIR writes: a file:// binary cache.
func FileCache(dir string) (Store, error) {
	return ParseStore("--to-cache", "file://"+dir)
}

// Where the build container sees file:// stores: pushes writable,
// substituters read-only, numbered in the order given.
const (
	pushMountDir        = "/run/nixcross/push"
	substituterMountDir = "/run/nixcross/substituters"
)

func pushMount(i int) string        { return fmt.Sprintf("%s/%d", pushMountDir, i) }
func substituterMount(i int) string { return fmt.Sprintf("%s/%d", substituterMountDir, i) }

// pushCopyDir is where Nix writes a file:// push when the daemon is
// remote and nothing is mounted: on the container's own file system, which
// the archive API reads (not under the secrets tmpfs at /run/nixcross,
// which it cannot see and which is too small for a cache).
func pushCopyDir(i int) string { return fmt.Sprintf("/var/cache/nixcross/push/%d", i) }

// substituterCopyDir is where a file:// substituter is copied when the
// daemon is remote and nothing is mounted (see hostCaches).
func substituterCopyDir(i int) string { return fmt.Sprintf("/var/cache/nixcross/substituters/%d", i) }

// substituterDir is where the build container sees the i-th substituter
// that is a host directory: mounted, or copied in for a remote daemon.
func substituterDir(local bool) func(int) string {
	if local {
		return substituterMount
	}
	return substituterCopyDir
}

// inContainer is the URL Nix in the build container uses for s, the i-th
// of its kind mounted at mountAt(i).
func (s Store) inContainer(i int, mountAt func(int) string) string {
	if s.HostDir == "" {
		return s.URL
	}
	return "file://" + mountAt(i) + s.query
}

// storeMounts bind-mounts the request's host binary caches into the build
// container: the push targets writable, the substituters read-only. A
// remote daemon (local false) cannot: Nix writes a file:// push into the
// container, and the push stage copies it out through the API; a file://
// substituter is copied in (see hostCaches).
func storeMounts(req Request, local bool) []mount.Mount {
	if !local {
		return nil
	}
	var ms []mount.Mount
	for i, s := range req.Push {
		if s.HostDir != "" {
			ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: s.HostDir, Target: pushMount(i)})
		}
	}
	for i, s := range req.Substituters {
		if s.HostDir != "" {
			ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: s.HostDir, Target: substituterMount(i), ReadOnly: true})
		}
	}
	return ms
}

// hostCache is a file:// substituter a remote daemon cannot mount: the
// host directory and where its copy goes in the build container.
type hostCache struct{ dir, in string }

// hostCaches are the file:// substituters to copy into the build
// container, for a remote daemon; none for a local one, which mounts them.
func hostCaches(req Request, local bool) []hostCache {
	if local {
		return nil
	}
	var cs []hostCache
	for i, s := range req.Substituters {
		if s.HostDir != "" {
			cs = append(cs, hostCache{dir: s.HostDir, in: substituterCopyDir(i)})
		}
	}
	return cs
}

// substituterURLs are the --substituter stores as Nix in the container
// reaches them.
func substituterURLs(req Request, local bool) []string {
	var urls []string
	for i, s := range req.Substituters {
		urls = append(urls, s.inContainer(i, substituterDir(local)))
	}
	return urls
}

// PushWhat is what --push copies: the outputs alone or their closure.
type PushWhat string

const (
	PushClosure PushWhat = "closure"
	PushOutputs PushWhat = "outputs"
)

// ParsePushWhat reads --push-what.
func ParsePushWhat(s string) (PushWhat, error) {
	switch w := PushWhat(s); w {
	case "":
		return PushClosure, nil
	case PushClosure, PushOutputs:
		return w, nil
	}
	return "", status.Usage(fmt.Errorf("--push-what must be closure or outputs, got %q", s), "")
}

// hasScheme reports whether s's URL has one of the schemes.
func (s Store) hasScheme(schemes ...string) bool {
	scheme, _, _ := strings.Cut(s.URL, "://")
	return slices.Contains(schemes, scheme)
}

// pushesTo reports whether one of stores has one of the schemes.
func pushesTo(stores []Store, schemes ...string) bool {
	return slices.ContainsFunc(stores, func(s Store) bool { return s.hasScheme(schemes...) })
}
