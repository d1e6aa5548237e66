package binfmt

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/nixcross/nixcross/internal/shell"
	"github.com/nixcross/nixcross/internal/system"
)

// The helper containers are driven by POSIX sh scripts generated here: the
// install container must re-register on every start, after a reboot, with
// no nixcross process around, so the decision "does an entry already handle
// this system?" has to be made inside the container, by the shell.

// binfmtDir is where binfmt_misc is mounted inside a helper.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// Report lines helpers print on stdout, one fact per line, "nixcross
// <word> <fields…>", so the Go side parses them out of any other output.
const (
	lineReady      = "nixcross ready"
	linePresent    = "nixcross present"    // <ours> <entry that handles it>
	lineRegistered = "nixcross registered" // <ours>
	lineMissing    = "nixcross missing"    // <ours> <interpreter>
	lineFailed     = "nixcross failed"     // <ours>
	lineEntry      = "nixcross entry"      // <name>, followed by the entry's file
	lineRemoved    = "nixcross unregistered"
	lineAbsent     = "nixcross absent"
)

// mountScript mounts binfmt_misc in the helper's own mount namespace. The
// mount (and so every registration, on a host that has none of its own)
// lives as long as the container; exit 3 says the helper lacked privilege.
const mountScript = `d=` + binfmtDir + `
mount -t binfmt_misc binfmt_misc "$d" || exit 3
`

// functionsScript defines handles, fixed and ensure.
//
// handles ENTRY HEADER: is the entry file enabled, and does its magic,
// under its mask and at its offset, match HEADER (hex)? This is the
// kernel's own test, in POSIX sh arithmetic, so an entry with another
// name (qemu-aarch64, a distribution's, Docker Desktop's) counts too.
//
// fixed ENTRY: does the entry carry the F flag? Without it the kernel
// looks for the interpreter inside each container, where a host's
// /usr/libexec/qemu-binfmt/… is not, so such an entry does not make the
// system runnable for builds.
//
// ensure NAME HEADER LINE INTERPRETER: print which entry will run HEADER
// in containers, registering LINE only when no F-flag entry does. Another
// entry is never removed or changed; one without the F flag is shadowed,
// since the kernel tries the newest entry first. So is another nixcross
// entry for the system under another name (an earlier nixcross's, running
// QEMU's default CPU model): it may be another run's, held by its build.
const functionsScript = `handles() {
	h=$2 on= off=0 magic= mask=
	while read -r k v; do
		case $k in
		enabled) on=1 ;;
		offset) off=$v ;;
		magic) magic=$v ;;
		mask) mask=$v ;;
		esac
	done < "$1"
	[ -n "$on" ] && [ -n "$magic" ] || return 1
	while [ "$off" -gt 0 ]; do h=${h#??}; off=$((off - 1)); done
	while [ -n "$magic" ]; do
		[ -n "$h" ] || return 1
		m=ff
		if [ -n "$mask" ]; then m=${mask%"${mask#??}"}; mask=${mask#??}; fi
		[ $((0x${magic%"${magic#??}"} & 0x$m)) -eq $((0x${h%"${h#??}"} & 0x$m)) ] || return 1
		magic=${magic#??} h=${h#??}
	done
}
fixed() {
	while read -r k v; do
		if [ "$k" = flags: ]; then case $v in *F*) return 0 ;; esac; fi
	done < "$1"
	return 1
}
ensure() {
	if [ -e "$d/$1" ]; then echo "nixcross present $1 $1"; return; fi
	for e in "$d"/*; do
		n=${e##*/}
		case $n in register|status|` + NamePrefix + `*) continue ;; esac
		[ -f "$e" ] || continue
		if handles "$e" "$2" && fixed "$e"; then echo "nixcross present $1 $n"; return; fi
	done
	if [ ! -x "$4" ]; then echo "nixcross missing $1 $4"; return; fi
	if printf '%s' "$3" > "$d/register"; then echo "nixcross registered $1"
	elif [ -e "$d/$1" ]; then echo "nixcross present $1 $1"
	else echo "nixcross failed $1"; fi
}
`

// idleScript keeps a holder alive, and its mount with it, until it is
// removed; SIGTERM (docker stop) ends it at once.
const idleScript = `trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`

// ensureCalls registers our handler for each system unless an entry
// handles it already. The header tested is the system's probe: the same
// bytes Detect runs.
func ensureCalls(systems []system.System) (string, error) {
	var sb strings.Builder
	for _, s := range systems {
		h, ok := HandlerFor(s)
		if !ok {
			return "", fmt.Errorf("no binfmt handler for %s", s)
		}
		header, err := probeHeader(s)
		if err != nil {
			return "", err
		}
		sb.WriteString(ensureCall(h, header))
	}
	return sb.String(), nil
}

func ensureCall(h Handler, header []byte) string {
	return fmt.Sprintf("ensure %s %s %s %s\n", shell.Quote(h.Name), hex.EncodeToString(header), shell.Quote(h.RegisterLine()), shell.Quote(h.Interpreter))
}

// holderScript mounts, registers what is missing, says it is ready, and
// holds the mount until stopped.
func holderScript(systems []system.System) (string, error) {
	calls, err := ensureCalls(systems)
	if err != nil {
		return "", err
	}
	return mountScript + functionsScript + calls + "echo '" + lineReady + "'\n" + idleScript, nil
}

// entriesScript prints every entry's file.
const entriesScript = mountScript + `for e in "$d"/*; do
	n=${e##*/}
	case $n in register|status) continue ;; esac
	[ -f "$e" ] || continue
	echo "nixcross entry $n"
	cat "$e"
done
`

// unregisterScript removes the named entries (ours only: callers pass
// names with NamePrefix).
func unregisterScript(names []string) string {
	var sb strings.Builder
	sb.WriteString(mountScript)
	for _, n := range names {
		q := shell.Quote(n)
		fmt.Fprintf(&sb, `if [ -e "$d"/%[1]s ]; then
	if echo -1 > "$d"/%[1]s; then echo "nixcross unregistered "%[1]s; else echo "nixcross failed "%[1]s; fi
else echo "nixcross absent "%[1]s; fi
`, q)
	}
	return sb.String()
}

// probeDir is where Detect copies the probes, a volume: the probe
// container's root filesystem is read-only.
const probeDir = "/nixcross-probes"

// probeScript runs each probe and prints "nixcross-probe <arch> <exit
// code> <output on one line>". Shells word ENOENT from execve as "not
// found" (dash) or "required file not found" (bash); once the probe is
// known to exist, exit status 127 can only mean its interpreter is
// missing, and the script says so in the kernel's words for Diagnose.
func probeScript(systems []system.System) string {
	archs := make([]string, 0, len(systems))
	for _, s := range systems {
		archs = append(archs, shell.Quote(s.Arch))
	}
	return `p=` + probeDir + `
for a in ` + strings.Join(archs, " ") + `; do
	if [ ! -f "$p/$a" ]; then echo "nixcross-probe $a 127 probe missing from $p"; continue; fi
	out=$("$p/$a" 2>&1)
	code=$?
	if [ "$code" -eq 127 ]; then out="$out (execve: no such file or directory)"; fi
	printf 'nixcross-probe %s %s %s\n' "$a" "$code" "$(printf '%s' "$out" | tr '\n' ' ')"
done
`
}

// probeHeader is the start of a system's probe, enough for any magic.
func probeHeader(s system.System) ([]byte, error) {
	p, err := Probe(s)
	if err != nil {
		return nil, err
	}
	return p[:min(len(p), 64)], nil
}
