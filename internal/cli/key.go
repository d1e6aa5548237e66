package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

func newKeyCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Make signing keys for binary caches, in Nix's format",
	}
	cmd.AddCommand(newKeyGenerateCommand(a))
	return asGroup(cmd)
}

type keyGenerateOptions struct {
	dir string
}

func newKeyGenerateCommand(a *app) *cobra.Command {
	var o keyGenerateOptions
	cmd := &cobra.Command{
		Use:   "generate NAME",
		Short: "Write a signing key pair NAME.sec and NAME.pub (no Docker, no Nix needed)",
		Long: `Write NAME.sec (the secret key, readable by you alone) and NAME.pub (the
public key) in Nix's format, "NAME:BASE64" of an ed25519 key, as
'nix key generate-secret' and 'nix key convert-secret-to-public' do. Sign
what you push with --sign-key NAME.sec; machines that substitute from the
cache trust the line in NAME.pub (--trusted-key, or trusted-public-keys in
nix.conf). By convention NAME is the cache's host name and a number.`,
		Example: `  nixcross key generate cache.example.org-1
  nixcross build --system aarch64-linux --push file://$PWD/cache --sign-key cache.example.org-1.sec`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeyGenerate(a, o, args[0])
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", ".", "directory to write the key files in")
	return cmd
}

// runKeyGenerate writes the pair, never over existing files (a lost
// secret key orphans every signature made with it), and prints the public
// key on stdout.
func runKeyGenerate(a *app, o keyGenerateOptions, name string) error {
	key, err := nix.GenerateKey(name)
	if err != nil {
		return status.Usage(err, "")
	}
	sec := filepath.Join(o.dir, name+".sec")
	pub := filepath.Join(o.dir, name+".pub")
	if err := writeNewFile(sec, key.String()+"\n", 0o600); err != nil {
		return err
	}
	if err := writeNewFile(pub, key.Public().String()+"\n", 0o644); err != nil {
		os.Remove(sec)
		return err
	}
	a.reporter().Printf("wrote %s (secret: keep it private) and %s", sec, pub)
	fmt.Fprintln(a.streams.Out, key.Public())
	return nil
}

func writeNewFile(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return status.Usage(fmt.Errorf("%s exists; nixcross will not replace a key", path), "choose another NAME or --dir")
	}
	if err != nil {
		return status.Usage(fmt.Errorf("write key: %w", err), "")
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return status.Environment(fmt.Errorf("write key %s: %w", path, err), "")
	}
	return nil
}
