package cli

import (
	"os"
	"path/filepath"

	"github.com/nixcross/nixcross/internal/build"
	"github.com/nixcross/nixcross/internal/nix"
)

// forwardedCredentials collects what the user's own Nix would use for
// private inputs: the ssh agent and known_hosts, and access-tokens and
// netrc-file from ~/.config/nix/nix.conf and NIX_CONFIG (which wins, as
// with Nix). nil when there is nothing.
func forwardedCredentials(getenv func(string) string) *build.Forwarded {
	var f build.Forwarded
	if sock := getenv("SSH_AUTH_SOCK"); sock != "" {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			f.SSHAgent = sock
		}
	}
	home := getenv("HOME")
	if home != "" {
		if fi, err := os.Stat(filepath.Join(home, ".ssh", "known_hosts")); err == nil && fi.Mode().IsRegular() {
			f.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
		}
	}
	confDir := getenv("XDG_CONFIG_HOME")
	if confDir == "" && home != "" {
		confDir = filepath.Join(home, ".config")
	}
	if confDir != "" {
		if b, err := os.ReadFile(filepath.Join(confDir, "nix", "nix.conf")); err == nil {
			nix.ParseCredentials(string(b), &f.Nix)
		}
	}
	nix.ParseCredentials(getenv("NIX_CONFIG"), &f.Nix)
	if f.Nix.NetrcFile != "" {
		if _, err := os.Stat(f.Nix.NetrcFile); err != nil {
			f.Nix.NetrcFile = ""
		}
	}
	for _, name := range awsCredentials {
		if v := getenv(name); v != "" {
			f.AWS = append(f.AWS, name+"="+v)
		}
	}
	if f.SSHAgent == "" && f.KnownHosts == "" && f.Nix.Empty() && len(f.AWS) == 0 {
		return nil
	}
	return &f
}

// awsCredentials are the environment variables Nix's S3 store reads its
// credentials from (the AWS SDK's first source), as CI jobs set them.
var awsCredentials = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// userKnownHosts is ~/.ssh/known_hosts when it exists, else "" (no host
// is known). Under sudo, HOME may be root's: --builders-known-hosts is
// the way to name the user's own.
func userKnownHosts(getenv func(string) string) string {
	if getenv == nil {
		return ""
	}
	home := getenv("HOME")
	if home == "" {
		return ""
	}
	p := filepath.Join(home, ".ssh", "known_hosts")
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return p
}
