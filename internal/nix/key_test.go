package nix

import (
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
)

// Key pairs Nix itself made (testdata/keys/README.md): our reading of the
// secret must give back exactly the public key Nix derived from it.
func TestKeyFormatMatchesNix(t *testing.T) {
	for _, v := range []string{"2.8", "2.26"} {
		t.Run(v, func(t *testing.T) {
			sec := readTestdata(t, "keys/nix-"+v+".sec")
			pub := readTestdata(t, "keys/nix-"+v+".pub")
			k, err := ParseSecretKey(sec)
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Public().String(); got != pub {
				t.Errorf("public key of Nix's secret: got %s, Nix says %s", got, pub)
			}
			if got := k.String(); got != sec {
				t.Errorf("secret key does not round-trip: %s", got)
			}
			if _, err := ParsePublicKey(pub); err != nil {
				t.Errorf("Nix's public key: %v", err)
			}
		})
	}
}

// A generated pair has Nix's shape and signs what its public half verifies.
func TestGenerateKey(t *testing.T) {
	k, err := GenerateKey("cache.example.org-1")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := ParseSecretKey(k.String())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(k.Public().String())
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != "cache.example.org-1" || pub.Name != sec.Name {
		t.Errorf("names: %q %q", sec.Name, pub.Name)
	}
	if len(sec.Key) != 64 || len(pub.Key) != 32 {
		t.Errorf("sizes: secret %d, public %d bytes", len(sec.Key), len(pub.Key))
	}
	// Nix signs a path's fingerprint; any message shows the halves match.
	msg := []byte("1;/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x;sha256:0;1;")
	if !ed25519.Verify(pub.Key, msg, ed25519.Sign(sec.Key, msg)) {
		t.Error("the public key does not verify the secret key's signature")
	}
}

func TestParseKeyRejects(t *testing.T) {
	pub := readTestdata(t, "keys/nix-2.26.pub")
	sec := readTestdata(t, "keys/nix-2.26.sec")
	for _, c := range []struct {
		name, in string
		parse    func(string) error
	}{
		{"public as secret", pub, func(s string) error { _, err := ParseSecretKey(s); return err }},
		{"secret as public", sec, func(s string) error { _, err := ParsePublicKey(s); return err }},
		{"no name", strings.SplitN(pub, ":", 2)[1], func(s string) error { _, err := ParsePublicKey(s); return err }},
		{"bad base64", "k:%%%", func(s string) error { _, err := ParsePublicKey(s); return err }},
	} {
		if c.parse(c.in) == nil {
			t.Errorf("%s: accepted %q", c.name, c.in)
		}
	}
	for _, name := range []string{"", "a:b", "a b"} {
		if _, err := GenerateKey(name); err == nil {
			t.Errorf("GenerateKey(%q) accepted the name", name)
		}
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
