package hoststore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-community/go-nix/pkg/storepath"
)

// CheckStoreDir applies, before a build, the rule the export would meet
// only after it: root/nix and root/nix/store are directories nixcross can
// use, and what nix/store holds is what nixcross writes there (store
// paths by name, its own temporaries). Anything else (a file named nix,
// a link, a store of another tool's) is the user's (ErrNotOurs): the
// export neither writes into it nor mixes its paths with what is there.
// A missing nix or nix/store is fine: the export creates it.
func CheckStoreDir(root string) error {
	for _, dir := range []string{filepath.Join(root, "nix"), filepath.Join(root, "nix", "store")} {
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s is a %s, where nixcross keeps the result's store: %w", dir, kind(fi.Mode()), ErrNotOurs)
		}
	}
	store := filepath.Join(root, "nix", "store")
	entries, err := os.ReadDir(store)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".nixcross-") {
			continue
		}
		if _, err := storepath.FromString(e.Name()); err != nil {
			return fmt.Errorf("%s holds %s, which is no store path: it is not a store nixcross wrote: %w", store, e.Name(), ErrNotOurs)
		}
	}
	return nil
}
