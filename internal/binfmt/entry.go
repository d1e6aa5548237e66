package binfmt

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/system"
)

// Entry is one registered binfmt_misc handler, as the kernel lists it.
type Entry struct {
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	Interpreter string `json:"interpreter"`
	Flags       string `json:"flags,omitempty"`
	Offset      int    `json:"offset,omitempty"`
	Magic       []byte `json:"-"`
	Mask        []byte `json:"-"`
	// Extension is set for entries that match a file name suffix instead
	// of magic bytes.
	Extension string `json:"extension,omitempty"`
}

// Ours reports whether nixcross created the entry.
func (e Entry) Ours() bool { return strings.HasPrefix(e.Name, NamePrefix) }

// Matches reports whether the kernel would hand an executable starting
// with header to this entry.
func (e Entry) Matches(header []byte) bool {
	return e.Enabled && matches(e.Offset, e.Magic, e.Mask, header)
}

// Handling returns the entry that runs s's binaries in containers, if
// any. The kernel tries the newest matching entry first, which the listing
// does not show, so the answer follows how entries come about: nixcross
// registers its own only where no entry with the F flag matched, so a
// host's F-flag entry comes first, then nixcross's (newer than any host
// entry without the F flag, which it shadows, and than an earlier
// nixcross's entry under another name), then any other.
func Handling(entries []Entry, s system.System) (Entry, bool) {
	header, err := probeHeader(s)
	if err != nil {
		return Entry{}, false
	}
	h, _ := HandlerFor(s)
	rank := func(e Entry) int {
		switch {
		case !e.Ours() && e.Fixed():
			return 0
		case e.Name == h.Name:
			return 1
		case e.Ours():
			return 2
		default:
			return 3
		}
	}
	var found Entry
	ok := false
	for _, e := range entries {
		if e.Matches(header) && (!ok || rank(e) < rank(found)) {
			found, ok = e, true
		}
	}
	return found, ok
}

// Fixed reports whether the entry has the F flag: the kernel opened its
// interpreter at registration, so it works in every container.
func (e Entry) Fixed() bool { return strings.Contains(e.Flags, "F") }

// Entries lists the kernel's binfmt_misc entries through a short-lived
// helper container (the listing is only visible where binfmt_misc is
// mounted, which takes CAP_SYS_ADMIN).
func Entries(ctx context.Context, eng *engine.Engine, image string) ([]Entry, error) {
	out, err := runHelper(ctx, eng, image, entriesScript, "entries")
	if err != nil {
		return nil, fmt.Errorf("list binfmt_misc entries: %w", err)
	}
	entries, err := parseEntries(out)
	if err != nil {
		return nil, fmt.Errorf("list binfmt_misc entries: %w", err)
	}
	return entries, nil
}

// parseEntries reads entriesScript's output: a "nixcross entry NAME" line,
// then the kernel's file for that entry:
//
//	enabled
//	interpreter /usr/bin/qemu-aarch64-static
//	flags: F
//	offset 0
//	magic 7f454c46…
//	mask ffffffff…
func parseEntries(out string) ([]Entry, error) {
	var entries []Entry
	var cur *Entry
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if name, ok := strings.CutPrefix(line, lineEntry+" "); ok {
			entries = append(entries, Entry{Name: name})
			cur = &entries[len(entries)-1]
			continue
		}
		if cur == nil {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		var err error
		switch strings.TrimSuffix(key, ":") {
		case "enabled":
			cur.Enabled = true
		case "disabled":
			cur.Enabled = false
		case "interpreter":
			cur.Interpreter = val
		case "flags":
			cur.Flags = val
		case "offset":
			cur.Offset, err = strconv.Atoi(val)
		case "magic":
			cur.Magic, err = hex.DecodeString(val)
		case "mask":
			cur.Mask, err = hex.DecodeString(val)
		case "extension":
			cur.Extension = val
		}
		if err != nil {
			return nil, fmt.Errorf("entry %s: %s: %w", cur.Name, line, err)
		}
	}
	return entries, nil
}
