package command

import (
	"testing"
)

// TestParseIsLinear holds the claim that Parse takes time linear in the
// body's length, by counting its steps (see meter), not by timing it: for
// every adversarial family, four times the body takes at most about four
// times the steps, and at most a fixed number of steps per byte.
func TestParseIsLinear(t *testing.T) {
	const (
		small = 16 << 10
		large = 4 * small // within MaxBodyBytes
		// perByte bounds the steps per byte: the Markdown parser peeks at a
		// line a few times per open container, and MaxNesting bounds those.
		perByte = 4 * MaxNesting
	)
	smalls, larges := adversarialBodies(small), adversarialBodies(large)
	for name, body := range larges {
		t.Run(name, func(t *testing.T) {
			var s, l meter
			parse(smalls[name], &s)
			parse(body, &l)
			if s.steps == 0 {
				t.Fatal("no steps counted: the meter is not wired in")
			}
			growth := float64(l.steps) / float64(s.steps)
			size := float64(len(body)) / float64(len(smalls[name]))
			if growth > 1.25*size {
				t.Errorf("%d bytes took %d steps, %d bytes %d: %.1f× the steps for %.1f× the bytes (superlinear)",
					len(smalls[name]), s.steps, len(body), l.steps, growth, size)
			}
			if l.steps > perByte*len(body) {
				t.Errorf("%d steps for %d bytes: more than %d a byte", l.steps, len(body), perByte)
			}
		})
	}
}

// TestMeterCountsQuadraticWork shows the test above can fail: a scan that
// rereads the rest of the body at every line is measured as quadratic.
func TestMeterCountsQuadraticWork(t *testing.T) {
	rescan := func(n int) int {
		var m meter
		body := adversarialBodies(n)["commands on every line"]
		for i := range body {
			if body[i] == '\n' {
				m.add(len(body) - i)
			}
		}
		return m.steps
	}
	if growth := float64(rescan(64<<10)) / float64(rescan(16<<10)); growth < 12 {
		t.Errorf("a quadratic scan grew %.1f× for 4× the bytes; the meter would not catch one", growth)
	}
}
