package command

import (
	"strings"
	"testing"
)

// adversarialBodies are bodies of MaxBodyBytes built to make a Markdown parser
// slow: deep nesting, openers that never close, long tags. Each ends with a
// command (or is rejected as too deep). goldmark's inline parser was quadratic
// on several of them (minutes per body); BenchmarkParseAdversarial keeps the
// figures visible.
func adversarialBodies() map[string]string {
	n := MaxBodyBytes - 64
	fill := func(unit string) string { return strings.Repeat(unit, n/len(unit)) }
	var deepIndent strings.Builder
	for i := 0; i < 400; i++ {
		deepIndent.WriteString(strings.Repeat("  ", i) + "- x\n")
	}
	for deepIndent.Len() < n-900 {
		deepIndent.WriteString(strings.Repeat("  ", 400) + "x\n")
	}
	const cmd = "\n/agent fix\n"
	return map[string]string{
		"deep quote":             strings.Repeat(">", n) + " /agent fix",
		"deep list":              fill("- ") + "/agent fix",
		"quotes 64 deep":         fill(strings.Repeat("> ", 64)+"x\n") + cmd,
		"lists 64 deep":          fill(strings.Repeat("- ", 64)+"x\n") + cmd,
		"indented lists":         deepIndent.String() + cmd,
		"emphasis":               fill("*a") + cmd,
		"strikethrough":          fill("~~a") + cmd,
		"link definitions":       fill("[a]: b\n") + cmd,
		"unclosed comments":      fill("x <!--\n") + cmd,
		"unclosed instructions":  fill("x <?\n") + cmd,
		"unclosed declarations":  fill("x <!A\n") + cmd,
		"unclosed cdata":         fill("x <![CDATA[\n") + cmd,
		"unclosed code spans":    fill("``x`\n") + cmd,
		"tag attributes":         "x <a " + fill(`b="c" `) + cmd,
		"quotes inside tags":     fill(`<a x='<a y="' `) + cmd,
		"commands on every line": fill("/agent fix\n"),
	}
}

func BenchmarkParseAdversarial(b *testing.B) {
	for name, body := range adversarialBodies() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				Parse(body)
			}
		})
	}
}

func TestParseTooDeep(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"quotes at the limit", strings.Repeat("> ", MaxNesting) + "x\n\n/agent fix", 1},
		{"quotes past the limit", strings.Repeat("> ", MaxNesting+1) + "x\n\n/agent fix", 0},
		{"lists past the limit", strings.Repeat("- ", MaxNesting+1) + "x\n\n/agent fix", 0},
		{"ordered lists past the limit", strings.Repeat("1. ", MaxNesting+1) + "x\n\n/agent fix", 0},
		{"dashes that are no list", strings.Repeat("-", 10*MaxNesting) + "\n\n/agent fix", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(Parse(tc.body)); got != tc.want {
				t.Errorf("%d commands, want %d", got, tc.want)
			}
		})
	}
}
