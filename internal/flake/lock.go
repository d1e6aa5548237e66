// Package flake owns what nixcross knows of a flake's inputs without
// running Nix: it reads flake.lock (and, for inputs the lock does not pin
// yet, flake.nix's input URLs and the input's own flake.lock), applies the
// --override-input flags, and finds every input that lives on the client's
// file system, which the build container must be able to see.
package flake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Lock is a flake.lock (format version 5 to 7): a graph of nodes, each
// naming its inputs, from the root node (the flake itself).
type Lock struct {
	Version int             `json:"version"`
	Root    string          `json:"root"`
	Nodes   map[string]Node `json:"nodes"`
}

// Node is one flake or non-flake input in a lock.
type Node struct {
	Inputs map[string]InputRef `json:"inputs"`
	// Locked is what Nix fetches: type plus type-specific attributes
	// (path, url, owner, rev, narHash, …).
	Locked   map[string]any `json:"locked"`
	Original map[string]any `json:"original"`
	// Parent is, for an input locked as a relative path, the input path
	// from the root to the flake the path is relative to (Nix 2.26 on).
	Parent []string `json:"parent"`
}

// InputRef names the node an input resolves to: a node key, or with
// `follows` an input path from the root.
type InputRef struct {
	Node    string
	Follows []string
}

// UnmarshalJSON reads either form: "key" or ["a", "b"].
func (r *InputRef) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &r.Node); err == nil {
		return nil
	}
	r.Node = ""
	if err := json.Unmarshal(b, &r.Follows); err != nil {
		return fmt.Errorf("input is neither a node name nor a follows path: %s", b)
	}
	if r.Follows == nil {
		r.Follows = []string{}
	}
	return nil
}

// ParseLock reads a flake.lock document.
func ParseLock(data []byte) (*Lock, error) {
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("parse flake.lock: %w", err)
	}
	if l.Version < 5 || l.Version > 7 {
		return nil, fmt.Errorf("parse flake.lock: unsupported version %d", l.Version)
	}
	if _, ok := l.Nodes[l.Root]; !ok {
		return nil, fmt.Errorf("parse flake.lock: root node %q is missing", l.Root)
	}
	return &l, nil
}

// ReadLock reads dir/flake.lock; a flake without one has a nil Lock.
func ReadLock(dir string) (*Lock, error) {
	data, err := os.ReadFile(filepath.Join(dir, "flake.lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := ParseLock(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "flake.lock"), err)
	}
	return l, nil
}

// resolve follows an input path from the root to a node key; "" when the
// path leads nowhere (an input that is not locked).
func (l *Lock) resolve(path []string) string {
	key := l.Root
	for _, name := range path {
		ref, ok := l.Nodes[key].Inputs[name]
		if !ok {
			return ""
		}
		if ref.Follows != nil {
			key = l.resolve(ref.Follows)
			if key == "" {
				return ""
			}
			continue
		}
		key = ref.Node
	}
	return key
}

// attr is a string attribute of a locked or original reference.
func attr(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}
