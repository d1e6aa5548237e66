package nix

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MetadataCommand prints the flake's locked source and its lock file as
// JSON (`nix flake metadata --json`, Nix 2.4 and later).
func MetadataCommand(flake string) []string {
	return []string{"nix", "flake", "metadata", "--json", "--no-write-lock-file", flake}
}

// Locked is one flake source pinned: what a reproducer fetches.
type Locked struct {
	// URL is the locked flake reference (the top-level flake only; an
	// input's is in Attrs).
	URL          string `json:"url,omitempty"`
	Rev          string `json:"rev,omitempty"`
	NarHash      string `json:"narHash"`
	LastModified int64  `json:"lastModified,omitempty"`
	// Attrs are Nix's locked attributes as it wrote them (type, owner,
	// repo, url, …): enough to fetch the input again.
	Attrs map[string]any `json:"locked,omitempty"`
}

// Metadata is what MetadataCommand reports, reduced to the pins.
type Metadata struct {
	Flake Locked `json:"flake"`
	// Inputs are the lock file's nodes by their name in it (nixpkgs,
	// nixpkgs_2, …); empty for a flake without inputs.
	Inputs map[string]Locked `json:"inputs"`
}

// ParseMetadata reads MetadataCommand's output.
func ParseMetadata(data []byte) (Metadata, error) {
	var doc struct {
		URL          string         `json:"url"`
		Revision     string         `json:"revision"`
		LastModified int64          `json:"lastModified"`
		Locked       map[string]any `json:"locked"`
		Locks        struct {
			Root  string `json:"root"`
			Nodes map[string]struct {
				Locked map[string]any `json:"locked"`
			} `json:"nodes"`
		} `json:"locks"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Metadata{}, fmt.Errorf("parse nix flake metadata: %w (output was %q)", err, truncate(string(data), 200))
	}
	m := Metadata{Inputs: map[string]Locked{}}
	m.Flake = lockedOf(doc.Locked)
	m.Flake.URL = doc.URL
	if doc.Revision != "" {
		m.Flake.Rev = doc.Revision
	}
	if doc.LastModified != 0 {
		m.Flake.LastModified = doc.LastModified
	}
	if m.Flake.NarHash == "" {
		return Metadata{}, fmt.Errorf("nix flake metadata reported no narHash for the flake")
	}
	names := make([]string, 0, len(doc.Locks.Nodes))
	for n := range doc.Locks.Nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == doc.Locks.Root || doc.Locks.Nodes[n].Locked == nil {
			continue // the flake itself; a follows-only node
		}
		m.Inputs[n] = lockedOf(doc.Locks.Nodes[n].Locked)
	}
	return m, nil
}

func lockedOf(attrs map[string]any) Locked {
	l := Locked{Attrs: attrs}
	l.Rev, _ = attrs["rev"].(string)
	l.NarHash, _ = attrs["narHash"].(string)
	if t, ok := attrs["lastModified"].(float64); ok {
		l.LastModified = int64(t)
	}
	return l
}
