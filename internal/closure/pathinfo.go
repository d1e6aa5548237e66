package closure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixhash"
	"github.com/nix-community/go-nix/pkg/storepath"
)

// rawPathInfo is one entry of `nix path-info --json` in any of the shapes
// Nix has printed: 2.8 (Debian's) gives absolute paths and an SRI or
// "sha256:<nix32>" string; the structured format of newer Nix gives base
// names and a {"algorithm","format","hash"} object.
type rawPathInfo struct {
	Path       string          `json:"path"`
	NarHash    json.RawMessage `json:"narHash"`
	NarSize    *int64          `json:"narSize"`
	References []string        `json:"references"`
	Valid      *bool           `json:"valid"`
	StoreDir   string          `json:"storeDir"`
}

type structuredHash struct {
	Algorithm string `json:"algorithm"`
	Format    string `json:"format"`
	Hash      string `json:"hash"`
}

// ParsePathInfo reads the output of `nix path-info --json --recursive`:
// the JSON array of Nix 2.8 or the object keyed by path of newer Nix. Every
// path is validated and every narHash normalised to SRI, so that later code
// handles one form only; the result is sorted by path.
func ParsePathInfo(data []byte) (Closure, error) {
	data = bytes.TrimSpace(data)
	var raws []rawPathInfo
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("parse path-info: %w", err)
		}
	case len(data) > 0 && data[0] == '{':
		byPath, err := pathInfoObject(data)
		if err != nil {
			return nil, fmt.Errorf("parse path-info: %w", err)
		}
		for key, r := range byPath {
			if r == nil {
				// Newer Nix reports a path it does not have as null.
				return nil, fmt.Errorf("parse path-info: %s is not a valid path in the container's store", key)
			}
			if r.Path == "" {
				r.Path = key
			} else if a, b := absStorePath(r.Path), absStorePath(key); a != b {
				return nil, fmt.Errorf("parse path-info: entry %s describes %s", key, r.Path)
			}
			raws = append(raws, *r)
		}
	default:
		return nil, errors.New("parse path-info: expected a JSON array or object")
	}

	c := make(Closure, 0, len(raws))
	seen := make(map[string]bool, len(raws))
	for _, r := range raws {
		info, err := r.normalise()
		if err != nil {
			return nil, fmt.Errorf("parse path-info: %w", err)
		}
		if seen[info.Path] {
			return nil, fmt.Errorf("parse path-info: %s is listed twice", info.Path)
		}
		seen[info.Path] = true
		c = append(c, info)
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Path < c[j].Path })
	return c, nil
}

// pathInfoObject reads the object forms of `nix path-info --json`: a map
// from store path to info (Nix 2.19 to 2.32, and --json-format 1 after),
// possibly with top-level "version" and "storeDir" members beside the
// paths, or the map nested under "info" (--json-format 2 and 3, Nix 2.33
// and later: {"version": 2, "storeDir": "/nix/store", "info": {...}}).
func pathInfoObject(data []byte) (map[string]*rawPathInfo, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	if info, ok := top["info"]; ok && !isStorePathKey("info") {
		var dir string
		if sd, ok := top["storeDir"]; ok {
			if err := json.Unmarshal(sd, &dir); err != nil {
				return nil, fmt.Errorf("storeDir: %w", err)
			}
		}
		if dir != "" && dir != storepath.StoreDir {
			return nil, fmt.Errorf("store directory %s is not %s", dir, storepath.StoreDir)
		}
		return pathInfoObject(info)
	}
	byPath := make(map[string]*rawPathInfo, len(top))
	for key, raw := range top {
		if !isStorePathKey(key) {
			switch key {
			case "version", "storeDir":
				// Metadata beside the paths; the entries say the same.
				if key == "storeDir" {
					var dir string
					if json.Unmarshal(raw, &dir) == nil && dir != storepath.StoreDir {
						return nil, fmt.Errorf("store directory %s is not %s", dir, storepath.StoreDir)
					}
				}
				continue
			}
		}
		var r *rawPathInfo
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("entry %s: %w", key, err)
		}
		byPath[key] = r
	}
	return byPath, nil
}

// isStorePathKey tells a store path (absolute or a base name) from the
// metadata members newer Nix puts beside them.
func isStorePathKey(key string) bool {
	_, err := storepath.FromAbsolutePath(absStorePath(key))
	return err == nil
}

func (r rawPathInfo) normalise() (PathInfo, error) {
	if r.Path == "" {
		return PathInfo{}, errors.New("entry without a path")
	}
	if r.StoreDir != "" && r.StoreDir != storepath.StoreDir {
		return PathInfo{}, fmt.Errorf("%s: store directory %s is not %s", r.Path, r.StoreDir, storepath.StoreDir)
	}
	p := absStorePath(r.Path)
	if _, err := storepath.FromAbsolutePath(p); err != nil {
		return PathInfo{}, fmt.Errorf("invalid store path %q: %w", r.Path, err)
	}
	if r.Valid != nil && !*r.Valid {
		return PathInfo{}, fmt.Errorf("%s is not a valid path in the container's store", p)
	}
	if r.NarSize == nil || *r.NarSize <= 0 {
		return PathInfo{}, fmt.Errorf("%s: missing or invalid narSize", p)
	}
	h, err := parseNarHash(r.NarHash)
	if err != nil {
		return PathInfo{}, fmt.Errorf("%s: narHash: %w", p, err)
	}
	refs := make([]string, 0, len(r.References))
	for _, ref := range r.References {
		a := absStorePath(ref)
		if _, err := storepath.FromAbsolutePath(a); err != nil {
			return PathInfo{}, fmt.Errorf("%s: invalid reference %q: %w", p, ref, err)
		}
		refs = append(refs, a)
	}
	sort.Strings(refs)
	return PathInfo{Path: p, NarHash: h.String(), NarSize: *r.NarSize, References: refs}, nil
}

// absStorePath accepts both the absolute paths of older Nix and the base
// names of the structured format.
func absStorePath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return storepath.StoreDir + "/" + p
}

// narHash is a parsed PathInfo.NarHash. Nix has only ever used SHA-256 for
// NAR hashes; accepting anything else would let a hostile container pick a
// weak algorithm.
type narHash struct{ digest []byte }

func (h narHash) String() string {
	return nixhash.MustNewHashWithEncoding(nixhash.SHA256, h.digest, nixhash.SRI, true).String()
}

func parseNarHashString(s string) (narHash, error) {
	algo := nixhash.SHA256
	h, err := nixhash.ParseAny(s, &algo)
	if err != nil {
		return narHash{}, fmt.Errorf("%q: %w", s, err)
	}
	return narHash{digest: h.Digest()}, nil
}

func parseNarHash(raw json.RawMessage) (narHash, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return narHash{}, errors.New("missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return parseNarHashString(s)
	}
	var sh structuredHash
	if err := json.Unmarshal(raw, &sh); err != nil {
		return narHash{}, fmt.Errorf("neither a string nor a hash object: %w", err)
	}
	if sh.Algorithm != "sha256" {
		return narHash{}, fmt.Errorf("unsupported algorithm %q", sh.Algorithm)
	}
	switch sh.Format {
	case "sri":
		return parseNarHashString(sh.Hash)
	case "base16", "nix32", "base32", "base64":
		// ParseAny tells these apart by length once the algorithm is known.
		return parseNarHashString("sha256:" + sh.Hash)
	default:
		return narHash{}, fmt.Errorf("unsupported hash format %q", sh.Format)
	}
}

// MissingReferences lists references that are not themselves in c: empty
// for the output of `nix path-info --recursive`, so anything here means the
// closure would not be complete on the host.
func (c Closure) MissingReferences() []string {
	have := make(map[string]bool, len(c))
	for _, p := range c {
		have[p.Path] = true
	}
	var missing []string
	for _, p := range c {
		for _, r := range p.References {
			if !have[r] {
				have[r] = true
				missing = append(missing, r)
			}
		}
	}
	sort.Strings(missing)
	return missing
}
