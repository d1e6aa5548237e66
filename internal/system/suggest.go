package system

import "strings"

// Suggest returns the supported system a user most likely meant by name,
// ok false when nothing is close: the names Docker, Go and QEMU use for a
// CPU ("arm64", "linux/arm64", "amd64", "x86_64", "i386"), any case, or a
// Nix name with a typo ("aarch64-linx").
func Suggest(name string) (System, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "linux/")
	if i := strings.Index(n, "/"); i >= 0 {
		n = n[:i] // a platform's variant: arm64/v8, arm/v7
	}
	n = strings.TrimSuffix(n, "-linux")
	for _, c := range cpus {
		for _, alias := range append([]string{c.nix, c.qemu, c.goarch}, c.docker...) {
			if n == alias {
				return System{Arch: c.nix, OS: "linux"}, true
			}
		}
	}
	best, bestDist := System{}, 4
	for _, s := range LinuxSystems() {
		if d := distance(strings.ToLower(name), s.String()); d < bestDist {
			best, bestDist = s, d
		}
	}
	return best, !best.IsZero()
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
