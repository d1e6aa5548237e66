#!/usr/bin/env bash
# The install step of the nixcross GitHub Action (action.yml): downloads the
# release archive for this runner, checks it against the release's
# checksums.txt, unpacks it and writes its path as the output `bin`.
#
#   INPUT_VERSION      a release tag (v1.2.3) or `latest`
#   RUNNER_OS          Linux, macOS or Windows;  RUNNER_ARCH  X64 or ARM64
#   RUNNER_TEMP        where the binary goes
#   NIXCROSS_RELEASES  releases base URL (default: this repository's on
#                      GitHub); tests point it at a file:// directory laid
#                      out like download/<tag>/<archive>
#   GITHUB_OUTPUT      the file outputs are appended to
set -euo pipefail

base="${NIXCROSS_RELEASES:-https://github.com/nixcross/nixcross/releases}"
version="${INPUT_VERSION:-latest}"
fail() {
	echo "::error title=nixcross::$*" >&2
	exit 1
}

case "${RUNNER_OS:-}" in
Linux) os=linux ext=tar.gz ;;
macOS) os=darwin ext=tar.gz ;;
Windows) os=windows ext=zip ;;
*) fail "no nixcross release for runner OS '${RUNNER_OS:-}'" ;;
esac
case "${RUNNER_ARCH:-}" in
X64) arch=amd64 ;;
ARM64) arch=arm64 ;;
*) fail "no nixcross release for runner architecture '${RUNNER_ARCH:-}'" ;;
esac

if [ "$version" = latest ]; then
	# GitHub redirects releases/latest to releases/tag/<tag>.
	url=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "$base/latest") || fail "cannot reach $base/latest"
	version="${url##*/}"
fi
name="nixcross_${version#v}_${os}_${arch}.${ext}"
dir="${RUNNER_TEMP:?}/nixcross-$version"
mkdir -p "$dir"
curl -fsSL -o "$dir/$name" "$base/download/$version/$name" || fail "no $name in release $version ($base/download/$version/)"
curl -fsSL -o "$dir/checksums.txt" "$base/download/$version/checksums.txt" || fail "no checksums.txt in release $version"

(
	cd "$dir"
	grep -F "  $name" checksums.txt >"$name.sha256" || fail "$name is not in checksums.txt"
	if command -v sha256sum >/dev/null; then sha256sum -c --quiet "$name.sha256"; else shasum -a 256 -c --quiet "$name.sha256"; fi
) || fail "$name does not match release $version's checksums.txt"

case "$ext" in
zip) unzip -q -o "$dir/$name" -d "$dir" ;;
*) tar -xzf "$dir/$name" -C "$dir" ;;
esac
bin="$dir/nixcross"
[ "$os" = windows ] && bin="$dir/nixcross.exe"
"$bin" version >&2
echo "bin=$bin" >>"${GITHUB_OUTPUT:?}"
