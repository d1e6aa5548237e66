// Command nardump stands in for Nix inside the benchmark's container,
// which has none: it writes the NAR serialisation of store paths to stdout
// like `nix-store --dump`, or with -info their metadata like
// `nix path-info --json`.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixhash"
)

type pathInfo struct {
	Path       string   `json:"path"`
	NarHash    string   `json:"narHash"`
	NarSize    int64    `json:"narSize"`
	References []string `json:"references"`
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func main() {
	info := flag.Bool("info", false, "print path-info JSON instead of the NARs")
	flag.Parse()
	if err := run(*info, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "nardump:", err)
		os.Exit(1)
	}
}

func run(info bool, paths []string) error {
	// Nix buffers its dump too; unbuffered, every token is a write(2).
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var infos []pathInfo
	for _, p := range paths {
		if !info {
			if err := nar.DumpPath(out, p); err != nil {
				return fmt.Errorf("dump %s: %w", p, err)
			}
			continue
		}
		h, n := sha256.New(), &counter{}
		if err := nar.DumpPath(io.MultiWriter(h, n), p); err != nil {
			return fmt.Errorf("hash %s: %w", p, err)
		}
		sri := nixhash.MustNewHashWithEncoding(nixhash.SHA256, h.Sum(nil), nixhash.SRI, true).String()
		infos = append(infos, pathInfo{Path: p, NarHash: sri, NarSize: n.n, References: []string{}})
	}
	if info {
		if err := json.NewEncoder(out).Encode(infos); err != nil {
			return err
		}
	}
	return out.Flush()
}
