//go:build linux

// Command builder is the builder of nixcross's offline fixture and demo
// flakes. It is compiled as a static binary for each target system
// (CGO_ENABLED=0 GOARCH=…) and run by Nix as a derivation's builder, so a
// build needs no nixpkgs and no network, yet runs real code for the target
// CPU: under QEMU when the target is foreign.
//
// What it does is chosen by the derivation's "mode" attribute:
//
//	hello  $out/bin/hello (a copy of this binary, an ELF for the target),
//	       $out/share/arch (what the running CPU reports), and
//	       $out/share/greeting -> $dep (a runtime dependency)
//	dep    $out/greeting, a text file
//	fail   writes to stderr and exits 1
//	sleep  sleeps for $seconds seconds, then behaves like dep
//	files  $out/data/NNNN, $count files of $size bytes each (benchmarks)
//	hog    allocates memory without bound, touching every page, until
//	       something kills it (out-of-memory tests)
//	cpu    $out, a file: the digest of $rounds rounds of CPU-bound work;
//	       prints how long the work took (the emulation benchmark reads it)
//	clock  $out/share/stable (always the same) and $out/share/built-at
//	       (the time of the build): not reproducible, for --rebuild
//	passwd $out/passwd, a copy of the container's /etc/passwd (root's
//	       home /root): impure, fails in Nix's sandbox, whose /etc/passwd
//	       is Nix's own
//	net    opens a UDP socket towards 192.0.2.1 (needs a route, sends
//	       nothing): impure, fails in Nix's sandbox, which has only loopback
//	snoop  $out/found: every credential it could reach, and how it
//	       tried (a hostile derivation; see snoop.go)
//	tamper overwrites every file of the store path $target with garbage, as
//	       a hostile derivation could as root in a store it shares, and
//	       lists in $out/tampered the files it overwrote (relative to
//	       $target, so $out keeps no reference to it)
//
// Run as "hello" with no Nix environment it prints what it reports in
// $out/share/arch, which lets a user check a result runs under emulation.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "builder: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	out := os.Getenv("out")
	mode := os.Getenv("mode")
	if out == "" {
		fmt.Println(arch())
		return nil
	}
	fmt.Printf("builder: mode %s on %s\n", mode, arch())
	switch mode {
	case "hello":
		return hello(out)
	case "dep":
		return dep(out)
	case "fail":
		fmt.Fprintln(os.Stderr, "builder: this derivation fails on purpose (mode fail)")
		os.Exit(1)
	case "sleep":
		secs, _ := strconv.Atoi(os.Getenv("seconds"))
		for i := 0; i < secs; i++ {
			fmt.Printf("builder: sleeping %d/%d\n", i+1, secs)
			time.Sleep(time.Second)
		}
		return dep(out)
	case "files":
		return files(out)
	case "hog":
		hog()
	case "cpu":
		rounds, _ := strconv.Atoi(os.Getenv("rounds"))
		return cpu(out, rounds)
	case "clock":
		return clock(out)
	case "passwd":
		return passwd(out)
	case "net":
		return network(out)
	case "tamper":
		return tamper(out, os.Getenv("target"))
	case "snoop":
		return snoop(out)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// arch reports the Go architecture this binary was built for and the
// machine the kernel (or QEMU, when emulated) says it runs on.
func arch() string {
	var u syscall.Utsname
	machine := "unknown"
	if syscall.Uname(&u) == nil {
		b := make([]byte, 0, len(u.Machine))
		for _, c := range u.Machine {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		machine = string(b)
	}
	return fmt.Sprintf("goarch=%s machine=%s", runtime.GOARCH, machine)
}

func hello(out string) error {
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "share"), 0o755); err != nil {
		return err
	}
	// Copy ourselves as the program the result ships, so the output holds
	// an ELF for the target. Nix passes only the base name as argv[0] to a
	// native builder; /proc/self/exe (emulated by QEMU too) has the path.
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	if err := copyFile(self, filepath.Join(out, "bin", "hello"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "share", "arch"), []byte(arch()+"\n"), 0o644); err != nil {
		return err
	}
	if d := os.Getenv("dep"); d != "" {
		if err := os.Symlink(filepath.Join(d, "greeting"), filepath.Join(out, "share", "greeting")); err != nil {
			return err
		}
	}
	return nil
}

func dep(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	msg := os.Getenv("message")
	if msg == "" {
		msg = "hello from nixcross"
	}
	return os.WriteFile(filepath.Join(out, "greeting"), []byte(msg+"\n"), 0o644)
}

func tamper(out, target string) error {
	if target == "" {
		return fmt.Errorf("tamper: no $target")
	}
	var overwritten []string
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		// Store files are read-only; root writes them anyway.
		if err := os.WriteFile(p, []byte("tampered\n"), 0); err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, p)
		overwritten = append(overwritten, rel)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tamper: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "tampered"), []byte(strings.Join(overwritten, "\n")+"\n"), 0o644)
}

// files writes deterministic pseudo-random content so NAR hashing and
// copying do real work and nothing compresses away.
func files(out string) error {
	count, _ := strconv.Atoi(os.Getenv("count"))
	size, _ := strconv.Atoi(os.Getenv("size"))
	dir := filepath.Join(out, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, size)
	for i := 0; i < count; i++ {
		seed := sha256.Sum256([]byte(strconv.Itoa(i)))
		for off := 0; off < size; off += len(seed) {
			copy(buf[off:], seed[:])
			seed = sha256.Sum256(seed[:])
		}
		sub := filepath.Join(dir, fmt.Sprintf("%03d", i/100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%05d", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cpu does deterministic integer work of the kind a compiler does
// (branches, loads and stores): each round fills 64 Ki words from a
// xorshift generator, sorts them and folds them into an FNV-1a hash. All of
// it is plain Go with no assembly, so every architecture runs the same
// kind of code; SHA-256 would not do, because Go runs it with the SHA
// extensions on x86_64 and arm64 but with scalar code on riscv64, and the
// benchmark would compare instruction sets instead of emulation.
func cpu(out string, rounds int) error {
	start, cpu0 := time.Now(), cpuTime()
	words := make([]uint64, 64<<10)
	h := fnv.New64a()
	x := uint64(88172645463325252)
	var b [8]byte
	for r := 0; r < rounds; r++ {
		for i := range words {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			words[i] = x
		}
		slices.Sort(words)
		for _, w := range words {
			for i := range b {
				b[i] = byte(w >> (8 * i))
			}
			h.Write(b[:])
		}
	}
	wall, used := time.Since(start), cpuTime()-cpu0
	fmt.Printf("builder: cpu %d rounds in %v, %v of CPU (wall %d ns, cpu %d ns, hwcaps %s)\n",
		rounds, wall.Round(time.Millisecond), used.Round(time.Millisecond), wall.Nanoseconds(), used.Nanoseconds(), hwcaps())
	return os.WriteFile(out, []byte(fmt.Sprintf("%x\n", h.Sum(nil))), 0o644)
}

// hwcaps reports the CPU features the kernel, or QEMU, announces in the
// auxiliary vector (AT_HWCAP and AT_HWCAP2). QEMU versions announce
// different sets, so the benchmark can tell which QEMU ran a build that
// went through binfmt_misc.
func hwcaps() string {
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return "unknown"
	}
	var hwcap, hwcap2 uint64
	for i := 0; i+16 <= len(auxv); i += 16 {
		switch key, val := binary.LittleEndian.Uint64(auxv[i:]), binary.LittleEndian.Uint64(auxv[i+8:]); key {
		case 16: // AT_HWCAP
			hwcap = val
		case 26: // AT_HWCAP2
			hwcap2 = val
		}
	}
	return fmt.Sprintf("%#x/%#x", hwcap, hwcap2)
}

// cpuTime is the CPU time (user and system) the process has used so far.
// Under QEMU the kernel answers for the emulator's process, translation
// included: what emulating the work costs, whatever else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func clock(out string) error {
	share := filepath.Join(out, "share")
	if err := os.MkdirAll(share, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(share, "stable"), []byte("the same every time\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(share, "built-at"), []byte(time.Now().Format(time.RFC3339Nano)+"\n"), 0o644)
}

func passwd(out string) error {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "root:x:0:0:root:/root:") {
		return fmt.Errorf("/etc/passwd is not the container's:\n%s", b)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "passwd"), b, 0o644)
}

// network needs a route off the machine but no peer: connecting a UDP
// socket sends nothing, so it works offline, yet fails where the only
// interface is loopback.
func network(out string) error {
	c, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return err
	}
	local := c.LocalAddr().String()
	c.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "route"), []byte("reached the network from "+local+"\n"), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hog holds ever more memory, every page written so that it is resident,
// until the kernel's out-of-memory killer (or anyone) ends it.
func hog() {
	var held [][]byte
	for i := 1; ; i++ {
		chunk := make([]byte, 16<<20)
		for j := 0; j < len(chunk); j += 4096 {
			chunk[j] = byte(i)
		}
		held = append(held, chunk)
		if i%8 == 0 {
			fmt.Printf("builder: holding %d MiB\n", i*16)
		}
	}
}
