package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/nix"
	"github.com/nixcross/nixcross/internal/status"
)

// Nix runs every builder as one of its build users (nix.BuildUsersGroup,
// set in every container's NIX_CONFIG), never as root: a derivation is
// someone else's code, and as root beside the forwarded credentials (the
// secrets tmpfs, the ssh agent, the Nix processes' environment) it could
// read them and publish them in its output. The built-in image has the
// users (Dockerfile.nix); an --image image may not, so they are added to
// each of its containers (its layer, gone with it) before anything runs.

// buildUsers is how many build users nixcross adds to an image that has
// none: as many as the official installers make, so --max-jobs up to 32
// never waits for a free one.
const buildUsers = 32

// buildUsersBase is the build group's ID, and the build users' IDs follow
// it, as the official installers number them.
const buildUsersBase = 30000

// exitNoBuildUsers is the script's status when it cannot add the users.
const exitNoBuildUsers = 98

// buildUsersScript adds the build group and its users to $1/group and
// $1/passwd ($1 is /etc) unless the image has them, with nothing but sh: images with
// Nix are often minimal (nixos/nix has no useradd). A group with no
// members, or IDs another group or user holds, are the image's own
// choice, not nixcross's to change: it fails with exitNoBuildUsers and
// says why on stderr.
func buildUsersScript() string {
	return fmt.Sprintf(`set -e
etc=$1 g=%[1]s n=%[2]d base=%[3]d
found= members= taken=
while IFS=: read -r name _ gid mem || [ -n "$name" ]; do
	if [ "$name" = "$g" ]; then found=1 members=$mem; fi
	if [ "$gid" = "$base" ]; then taken="the group $name has ID $base"; fi
done < "$etc/group"
if [ -n "$found" ]; then
	[ -n "$members" ] && exit 0
	echo "the group $g has no members" >&2; exit %[4]d
fi
while IFS=: read -r name _ uid _ || [ -n "$name" ]; do
	if [ "$uid" -gt "$base" ] 2>/dev/null && [ "$uid" -le $((base + n)) ]; then taken="the user $name has ID $uid"; fi
done < "$etc/passwd"
if [ -n "$taken" ]; then echo "$taken" >&2; exit %[4]d; fi
# A file whose last line has no newline would run into the first added.
ends() { case $(tail -c 1 "$1" 2>/dev/null) in "") ;; *) echo >> "$1";; esac; }
{ ends "$etc/group" && ends "$etc/passwd"; } || exit %[4]d
i=1 list=
while [ $i -le $n ]; do list="$list${list:+,}$g$i"; i=$((i + 1)); done
echo "$g:x:$base:$list" >> "$etc/group" || exit %[4]d
i=1
while [ $i -le $n ]; do
	echo "$g$i:x:$((base + i)):$base:Nix build user $i:/var/empty:/bin/false" >> "$etc/passwd" || exit %[4]d
	i=$((i + 1))
done`, nix.BuildUsersGroup, buildUsers, buildUsersBase, exitNoBuildUsers)
}

// addBuildUsers makes sure the container of an --image image has Nix's
// build users, adding them when it has none. An image where that cannot
// be done is refused (exit 3) before anything builds: without them every
// builder would run as root, beside the credentials.
func (r *Runner) addBuildUsers(ctx context.Context, id, image string) error {
	var stderr bytes.Buffer
	err := r.Engine.Exec(ctx, id, engine.ExecSpec{Cmd: []string{"sh", "-c", buildUsersScript(), "build-users", "/etc"}, Stderr: &stderr})
	if err == nil {
		return nil
	}
	var exit *engine.ExitError
	if errors.As(err, &exit) {
		why := strings.TrimSpace(stderr.String())
		if why == "" {
			why = fmt.Sprintf("exit %d", exit.Code)
		}
		return status.Environment(fmt.Errorf("image %s has no usable Nix build users (group %s with members) and nixcross could not add them: %s", image, nix.BuildUsersGroup, why), buildUsersHint)
	}
	return status.Environment(fmt.Errorf("add Nix's build users to the container of image %s: %w", image, err), "")
}

// buildUsersHint is the advice when an image's build users are unusable.
const buildUsersHint = "give the image Nix's build users (groupadd nixbld; useradd -g nixbld -G nixbld nixbld1 … nixbld32, as nixos/nix has them), or drop --image to use the built-in builder image"
