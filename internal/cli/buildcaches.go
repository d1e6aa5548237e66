package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// parseCaches reads the binary cache flags: the stores to push to (--push
// then --to-cache), the signing key, the extra substituters and keys. A
// file:// directory to push to is created (as the user) when missing; one
// to substitute from must exist.
func parseCaches(o buildOptions, req *build.Request) error {
	var err error
	if req.PushWhat, err = build.ParsePushWhat(o.pushWhat); err != nil {
		return err
	}
	for _, u := range o.push {
		s, err := build.ParseStore("--push", u)
		if err != nil {
			return err
		}
		req.Push = append(req.Push, s)
	}
	if o.toCache != "" {
		s, err := build.FileCache(o.toCache)
		if err != nil {
			return err
		}
		req.Push = append(req.Push, s)
	}
	for _, s := range req.Push {
		if s.HostDir != "" {
			if err := os.MkdirAll(s.HostDir, 0o755); err != nil {
				return status.Usage(fmt.Errorf("binary cache directory: %w", err), "")
			}
		}
	}
	if o.signKey != "" {
		if len(req.Push) == 0 {
			return status.Usage(errors.New("--sign-key signs what --push or --to-cache writes; there is neither"), "")
		}
		data, err := os.ReadFile(o.signKey)
		if err != nil {
			return status.Usage(fmt.Errorf("read --sign-key: %w", err), "")
		}
		if _, err := nix.ParseSecretKey(string(data)); err != nil {
			return status.Usage(fmt.Errorf("--sign-key %s: %w", o.signKey, err), "make a key pair with `nixcross key generate NAME`; sign with NAME.sec")
		}
		req.SignKey = o.signKey
	}
	for _, u := range o.substituters {
		s, err := build.ParseStore("--substituter", u)
		if err != nil {
			return err
		}
		if s.HostDir != "" {
			if _, err := os.Stat(filepath.Join(s.HostDir, "nix-cache-info")); err != nil {
				return status.Usage(fmt.Errorf("--substituter %s is not a binary cache (no nix-cache-info)", u), "make one with --push file://DIR or --to-cache DIR")
			}
		}
		req.Substituters = append(req.Substituters, s)
	}
	for i, k := range o.trustedKeys {
		if _, err := nix.ParsePublicKey(k); err != nil {
			// Never echo the value: it may be a secret key pasted by mistake.
			return status.Usage(fmt.Errorf("--trusted-key number %d: %w", i+1, err), "pass the content of NAME.pub, not the file name or the secret key")
		}
		req.TrustedKeys = append(req.TrustedKeys, strings.TrimSpace(k))
	}
	return nil
}
