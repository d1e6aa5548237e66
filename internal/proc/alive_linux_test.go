package proc

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestZombieIsGone: a run that was killed but not reaped yet is dead for
// the liveness rule, or a rerun at once would keep its temporaries.
func TestZombieIsGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// Wait for the exit without reaping it: it stays a zombie until Wait.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if Alive(cmd.Process.Pid) {
		t.Error("an exited, unreaped process counts as alive")
	}
	self := Self()
	if !(Owner{Host: self.Host, PID: cmd.Process.Pid, Scope: self.Scope, Boot: self.Boot}).Gone() {
		t.Error("the owner of a zombie is not gone")
	}
}

// TestExited reads the state of real /proc/PID/stat lines, names with
// spaces and parentheses included.
func TestExited(t *testing.T) {
	cases := map[string]bool{
		"4242 (nixcross) S 1 4242 4242 34816 4242 4194560 1507 0 0 0": false,
		"4242 (nixcross) R 1 4242 4242 34816":                         false,
		"4242 (nixcross) Z 1 4242 4242 0 -1 4227084 2364 0 0 0":       true,
		"4242 (a (weird) name) Z 1 4242":                              true,
		"4242 (a) S) name) S 1":                                       false,
		"":                                                            false,
	}
	for stat, want := range cases {
		if got := exited([]byte(stat)); got != want {
			t.Errorf("exited(%q) = %v, want %v", stat, got, want)
		}
	}
}
