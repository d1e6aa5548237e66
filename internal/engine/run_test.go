package engine

import (
	"fmt"
	"os"
	"testing"
)

func TestRunAlive(t *testing.T) {
	host, _ := os.Hostname()
	if !RunAlive(RunID()) || !RunAlive(fmt.Sprintf("%s:%d", host, os.Getppid())) {
		t.Error("a live run counted as dead")
	}
	if !RunAlive("another-machine:1") {
		t.Error("another machine's run must count as alive: only it can tell")
	}
	if RunAlive("") || RunAlive(host+":not-a-pid") {
		t.Error("malformed run labels counted as alive")
	}
}
