package command

import (
	"strings"
	"testing"
)

// adversarialBodies are bodies of about n bytes built to make a Markdown
// parser slow: deep nesting, openers that never close, long tags, commands
// hidden in spans on every other line. Each ends with a command (or is
// rejected as too deep). goldmark's inline parser was quadratic on several of
// them (minutes per body); BenchmarkParseAdversarial keeps the figures
// visible, and TestParseIsLinear counts the steps they take.
func adversarialBodies(n int) map[string]string {
	fill := func(unit string) string { return strings.Repeat(unit, n/len(unit)) }
	// Lists nested by indentation as deep as a body may, then lines that
	// continue the innermost item; and the same past the limit.
	indented := func(depth int) string {
		var b strings.Builder
		for i := 0; i < depth; i++ {
			b.WriteString(strings.Repeat("  ", i) + "- x\n")
		}
		for b.Len() < n-2*depth-16 {
			b.WriteString(strings.Repeat("  ", depth) + "x\n")
		}
		return b.String()
	}
	const cmd = "\n/agent fix\n"
	return map[string]string{
		"deep quote":             strings.Repeat(">", n) + " /agent fix",
		"deep list":              fill("- ") + "/agent fix",
		"quotes 64 deep":         fill(strings.Repeat("> ", 64)+"x\n") + cmd,
		"lists 64 deep":          fill(strings.Repeat("- ", 64)+"x\n") + cmd,
		"indented lists":         indented(MaxNesting) + cmd,
		"over-indented lists":    indented(400) + cmd,
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
		"commands in code spans": fill("`\n/agent fix\n`\n") + cmd,
		"commands in comments":   fill("<!--\n/agent fix\n-->\n") + cmd,
		"commands between spans": fill("`a` `b`\n/agent x\n") + cmd,
	}
}

func BenchmarkParseAdversarial(b *testing.B) {
	for name, body := range adversarialBodies(MaxBodyBytes - 64) {
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
		{"indented to the limit", strings.Repeat(" ", maxIndent) + "x\n\n/agent fix", 1},
		{"indented past the limit", strings.Repeat(" ", maxIndent+1) + "x\n\n/agent fix", 0},
		{"tabs past the limit", strings.Repeat("\t", maxIndent/4+1) + "x\n\n/agent fix", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(Parse(tc.body)); got != tc.want {
				t.Errorf("%d commands, want %d", got, tc.want)
			}
		})
	}
}
