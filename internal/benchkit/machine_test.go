package benchkit

import (
	"os"
	"testing"
)

func TestReadMachine(t *testing.T) {
	m := ReadMachine()
	if m.CPUs < 1 {
		t.Errorf("%d CPUs", m.CPUs)
	}
	if _, err := os.Stat("/proc/loadavg"); err == nil && m.Load1 < 0 {
		t.Errorf("load average %v although /proc/loadavg exists", m.Load1)
	}
}
