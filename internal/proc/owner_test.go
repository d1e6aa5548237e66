package proc

import (
	"os"
	"os/exec"
	"testing"
)

// TestOwnerGone: only an owner this machine can judge counts as gone.
func TestOwnerGone(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	self := Self()
	cases := []struct {
		name string
		o    Owner
		gone bool
	}{
		{"this process", self, false},
		{"dead, same scope", Owner{Host: self.Host, PID: dead.Process.Pid, Scope: self.Scope, Boot: self.Boot}, true},
		{"dead, unrecorded scope", Owner{Host: self.Host, PID: dead.Process.Pid}, true},
		{"another machine", Owner{Host: self.Host + "-other", PID: dead.Process.Pid}, false},
		{"another PID namespace", Owner{Host: self.Host, PID: dead.Process.Pid, Scope: "other", Boot: self.Boot}, false},
		{"live parent", Owner{Host: self.Host, PID: os.Getppid(), Scope: self.Scope}, false},
	}
	if self.Boot != "" {
		cases = append(cases, struct {
			name string
			o    Owner
			gone bool
		}{"an earlier boot", Owner{Host: self.Host, PID: os.Getpid(), Scope: "other", Boot: "earlier"}, true})
	}
	for _, c := range cases {
		if got := c.o.Gone(); got != c.gone {
			t.Errorf("%s: Gone() = %v, want %v", c.name, got, c.gone)
		}
	}
}
