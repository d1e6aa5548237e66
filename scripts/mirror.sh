# Sourced by provision.sh and docker-sid.sh.

# The first deb822 or one-line "deb" URI in the host's apt sources: the one
# mirror this machine is known to reach.
host_mirror() {
	local uri
	uri=$(grep -rhoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -m1 -E 'debian/?$' | awk '{print $2}' || true)
	if [ -z "$uri" ]; then
		uri=$(grep -rhE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -m1 debian || true)
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}
