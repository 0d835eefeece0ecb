package benchkit

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Machine is how busy the machine was when a benchmark started: on a machine
// shared with other work, the figures depend on it.
type Machine struct {
	CPUs int
	// Load1 is the one-minute load average, -1 where the platform does not
	// report it.
	Load1 float64
}

// ReadMachine reads the number of CPUs and the load average.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Load1: -1}
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return m
	}
	if first, _, ok := strings.Cut(string(raw), " "); ok {
		if v, err := strconv.ParseFloat(first, 64); err == nil {
			m.Load1 = v
		}
	}
	return m
}

// Report puts the load average on b's result line and logs the machine.
func (m Machine) Report(b *testing.B) {
	b.Helper()
	b.ReportMetric(m.Load1, "load-avg-1m")
	b.Logf("machine: %d CPUs, load average %.2f over the minute before the run", m.CPUs, m.Load1)
}
