#!/usr/bin/env bash
# The build step of the nixcross GitHub Action (action.yml): runs
# `nixcross build --json` with the action's inputs and writes the outputs
# action.yml declares to $GITHUB_OUTPUT. Nothing here needs GitHub: `make
# test` runs it with the checkout's binary (integration/action_test.go).
#
#   NIXCROSS_BIN   the nixcross binary (install.sh's output)
#   INPUT_SYSTEM   systems, separated by commas, spaces or newlines (required)
#   INPUT_FLAKE    flake reference (default: .)
#   INPUT_OPTIONS  Nix options, one per line as in nix.conf: `name = value`
#                  (`substituters =` sets an empty value); # starts a comment
#   INPUT_PUSH     Nix stores to push the results to, separated by spaces or
#                  newlines, each passed as --push (file:///dir, ssh-ng://…,
#                  https://…); with a nixcross older than --push (issue 16) the
#                  step fails before building
#   GITHUB_OUTPUT  the file outputs are appended to
#
# Outputs: json (the whole --json document), paths (every output store path,
# one per line), links (the result links, one per line, relative to the
# working directory), exit-code. They are written even when a build fails;
# the step then exits with nixcross's code.
set -euo pipefail

bin="${NIXCROSS_BIN:?NIXCROSS_BIN must name the nixcross binary}"
out="${GITHUB_OUTPUT:?GITHUB_OUTPUT must name the outputs file}"

fail() {
	echo "::error title=nixcross::$*" >&2
	exit 2
}

trim() {
	local s="$1"
	s="${s#"${s%%[![:space:]]*}"}"
	printf '%s' "${s%"${s##*[![:space:]]}"}"
}

systems=$(printf '%s\n' "${INPUT_SYSTEM:-}" | tr ', \t' '\n\n\n' | sed '/^$/d' | paste -sd, -)
[ -n "$systems" ] || fail "input 'system' is empty: name at least one system, e.g. aarch64-linux"
# Whitespace and newlines only separate (a YAML block ends in one), but a
# comma with nothing on one side is a matrix variable that was never set:
# building the other systems alone would pass as success. (The ,X keeps
# a trailing empty field, which read would drop.)
IFS=, read -r -d '' -a fields <<<"${INPUT_SYSTEM},X" || true
for field in "${fields[@]}"; do
	[ -n "$(trim "$field")" ] || fail "input 'system' has an empty name between commas: '${INPUT_SYSTEM}'"
done

args=(build "${INPUT_FLAKE:-.}" --system "$systems" --json)

while IFS= read -r line || [ -n "$line" ]; do
	line=$(trim "${line%%#*}")
	[ -n "$line" ] || continue
	case "$line" in
	*=*) ;;
	*) fail "input 'options': '$line' is not 'name = value'" ;;
	esac
	args+=(--option "$(trim "${line%%=*}")" "$(trim "${line#*=}")")
done <<<"${INPUT_OPTIONS:-}"

read -r -d '' -a stores <<<"${INPUT_PUSH:-}" || true
if [ ${#stores[@]} -gt 0 ]; then
	if ! "$bin" build --help 2>/dev/null | grep -q -e '--push'; then
		fail "input 'push' needs nixcross build --push, which $("$bin" version) does not have; set 'version' to a newer release or leave 'push' empty"
	fi
	for store in "${stores[@]}"; do
		args+=(--push "$store")
	done
fi

doc=$(mktemp)
trap 'rm -f "$doc"' EXIT
echo "nixcross$(printf ' %q' "${args[@]}")" >&2
code=0
"$bin" "${args[@]}" >"$doc" || code=$?

# A heredoc delimiter no output can contain.
eof="NIXCROSS_EOF_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
{
	if jq -e . "$doc" >/dev/null 2>&1; then
		echo "json=$(jq -c . "$doc")"
		echo "paths<<$eof"
		jq -r '.builds[] | .outputs // [] | .[]' "$doc"
		echo "$eof"
		echo "links<<$eof"
		jq -r '.builds[] | .link // empty' "$doc"
		echo "$eof"
	else
		echo "json="
		echo "paths="
		echo "links="
	fi
	echo "exit-code=$code"
} >>"$out"
exit "$code"
