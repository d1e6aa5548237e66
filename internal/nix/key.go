package nix

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// SecretKey is a Nix signing key: "NAME:BASE64" of the 64-byte ed25519
// private key (seed then public key, libsodium's layout and Go's), as
// `nix key generate-secret` writes it and `--secret-key-files` reads it.
type SecretKey struct {
	Name string
	Key  ed25519.PrivateKey
}

// PublicKey is the matching "NAME:BASE64" of the 32-byte public key, the
// form `trusted-public-keys` lists.
type PublicKey struct {
	Name string
	Key  ed25519.PublicKey
}

// GenerateKey makes a key pair named name (by convention the cache's
// host name and a number: "cache.example.org-1").
func GenerateKey(name string) (SecretKey, error) {
	if err := checkKeyName(name); err != nil {
		return SecretKey{}, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SecretKey{}, fmt.Errorf("generate key: %w", err)
	}
	return SecretKey{Name: name, Key: priv}, nil
}

func (k SecretKey) String() string {
	return k.Name + ":" + base64.StdEncoding.EncodeToString(k.Key)
}

// Public is the key's public half, as `nix key convert-secret-to-public`
// prints it.
func (k SecretKey) Public() PublicKey {
	return PublicKey{Name: k.Name, Key: k.Key.Public().(ed25519.PublicKey)}
}

func (k PublicKey) String() string {
	return k.Name + ":" + base64.StdEncoding.EncodeToString(k.Key)
}

// ParseSecretKey reads a secret key file's content.
func ParseSecretKey(s string) (SecretKey, error) {
	name, key, err := parseKey(s, ed25519.PrivateKeySize, "secret")
	return SecretKey{Name: name, Key: key}, err
}

// ParsePublicKey reads a public key as trusted-public-keys lists it.
func ParsePublicKey(s string) (PublicKey, error) {
	name, key, err := parseKey(s, ed25519.PublicKeySize, "public")
	return PublicKey{Name: name, Key: key}, err
}

func parseKey(s string, size int, kind string) (string, []byte, error) {
	name, b64, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("not a Nix %s key: want NAME:BASE64", kind)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("not a Nix %s key: %w", kind, err)
	}
	if len(key) != size {
		return "", nil, fmt.Errorf("not a Nix %s key: %d bytes, want %d", kind, len(key), size)
	}
	return name, key, nil
}

// checkKeyName refuses names Nix could not read back: the name ends at
// the first colon, and whitespace separates keys in a list.
func checkKeyName(name string) error {
	if name == "" || strings.ContainsAny(name, ": \t\n") {
		return fmt.Errorf("key name %q: want a name without colons or spaces, e.g. cache.example.org-1", name)
	}
	return nil
}
