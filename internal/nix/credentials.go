package nix

import (
	"bufio"
	"strings"
)

// Credentials are the Nix settings that let fetchers reach private
// inputs, as the user configured them for their own Nix. nixcross hands
// them to Nix in the build container for one run, never to an image.
type Credentials struct {
	// AccessTokens is Nix's access-tokens value ("github.com=ghp_… …").
	AccessTokens string
	// NetrcFile is the netrc-file path on the client.
	NetrcFile string
}

// Empty reports whether there is nothing to hand over.
func (c Credentials) Empty() bool { return c.AccessTokens == "" && c.NetrcFile == "" }

// ParseCredentials applies the credential settings of one nix.conf text
// (a file, or NIX_CONFIG) to c, as Nix reads them: a later setting
// replaces an earlier one, extra-access-tokens adds to it. Everything
// else is left to Nix's own configuration in the image.
func ParseCredentials(conf string, c *Credentials) {
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(name) {
		case "access-tokens":
			c.AccessTokens = value
		case "extra-access-tokens":
			c.AccessTokens = strings.TrimSpace(c.AccessTokens + " " + value)
		case "netrc-file":
			c.NetrcFile = value
		}
	}
}

// BuildUsersGroup is the group of the users Nix runs builders as.
const BuildUsersGroup = "nixbld"

// BaseConfig is the NIX_CONFIG every nixcross container runs with: it
// wins over the image's nix.conf, so Nix runs every builder as a build
// user, never as root, whatever image it is (see build.addBuildUsers).
const BaseConfig = "experimental-features = nix-command flakes\nbuild-users-group = " + BuildUsersGroup

// SecretSetting reports whether the Nix setting name holds a secret
// (access tokens), which must never be on a command line: any process in
// the container, a builder too, reads /proc/PID/cmdline.
func SecretSetting(name string) bool {
	return strings.TrimPrefix(name, "extra-") == "access-tokens"
}

// Config is the NIX_CONFIG lines that hand c to Nix, netrc being where
// the netrc file was put in the container. They go after the container's
// own NIX_CONFIG (see build.nixConfig), never instead of it: an exec's
// NIX_CONFIG replaces the container's whole, sandbox settings included.
func (c Credentials) Config(netrc string) string {
	conf := ""
	if c.AccessTokens != "" {
		conf += "\naccess-tokens = " + c.AccessTokens
	}
	if netrc != "" {
		conf += "\nnetrc-file = " + netrc
	}
	return conf
}
