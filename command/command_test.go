package command

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type parseCase struct {
	name string
	body string
	want []Command
}

// cmd is a known command on a line, for the table.
func cmd(name, args string, line int) Command {
	return Command{Name: name, Args: args, Known: true, Line: line}
}

// parseCases is shared by TestParse and FuzzParse's seed corpus.
func parseCases() []parseCase {
	longArgs := strings.Repeat("x", 5000)
	wideArgs := strings.Repeat("é", 3000) // 6,000 bytes
	// exactly 65,536 characters, the command on the last line
	fillerLen := 65536 - len("/agent plan\n")
	filler := strings.Repeat("lorem ipsum dolor sit amet\n", fillerLen/27)
	filler += strings.Repeat("y", fillerLen-len(filler)-1) + "\n"
	var many strings.Builder
	for range 2 * MaxCommands {
		many.WriteString("/agent plan\n\n")
	}
	var manyWant []Command
	for i := range MaxCommands {
		manyWant = append(manyWant, cmd(Plan, "", 2*i+1))
	}
	return []parseCase{
		{"empty", "", nil},
		{"no command", "LGTM, thanks!", nil},
		{"fix", "/agent fix", []Command{cmd(Fix, "", 1)}},
		{"fix with instructions", "/agent fix  bump the instance type to t3.small  ", []Command{cmd(Fix, "bump the instance type to t3.small", 1)}},
		{"plan", "/agent plan", []Command{cmd(Plan, "", 1)}},
		{"review", "/agent review", []Command{cmd(Review, "", 1)}},
		{"cancel", "/agent cancel", []Command{cmd(Cancel, "", 1)}},
		{"help", "/agent help", []Command{cmd(Help, "", 1)}},
		{"alone is help", "/agent", []Command{cmd(Help, "", 1)}},
		{"alone with trailing spaces is help", "/agent   \n", []Command{cmd(Help, "", 1)}},
		{"unknown word", "/agent frobnicate the vpc", []Command{{Name: "frobnicate", Args: "the vpc", Line: 1}}},
		{"unknown word keeps its case", "/agent Deploy now", []Command{{Name: "Deploy", Args: "now", Line: 1}}},
		{"long unknown word is capped", "/agent " + strings.Repeat("z", 100), []Command{{Name: strings.Repeat("z", MaxNameBytes), Line: 1}}},

		// case rules: ASCII case is ignored, nothing else is folded
		{"capitalised", "/Agent Fix", []Command{cmd(Fix, "", 1)}},
		{"upper case", "/AGENT FIX the tags", []Command{cmd(Fix, "the tags", 1)}},
		{"mixed case sub", "/agent PlAn", []Command{cmd(Plan, "", 1)}},
		{"cyrillic a look-alike", "/\u0430gent fix", nil},
		{"fullwidth solidus", "\uff0fagent fix", nil},

		// word boundaries
		{"agentfix", "/agentfix", nil},
		{"agents", "/agents fix", nil},
		{"colon", "/agent: fix", nil},
		{"dash", "/agent-fix", nil},
		{"nbsp separates", "/agent\u00a0fix", []Command{cmd(Fix, "", 1)}},
		{"tab separates", "/agent\tplan", []Command{cmd(Plan, "", 1)}},

		// start of a line
		{"mid-line", "please /agent fix", nil},
		{"after text on the previous line", "Thanks!\n/agent fix the tags\nand the names", []Command{cmd(Fix, "the tags", 2)}},
		{"three spaces of indentation", "   /agent plan", []Command{cmd(Plan, "", 1)}},
		{"escaped slash", "\\/agent fix", nil},
		{"link text", "[/agent fix](https://example.com)", nil},
		{"emphasis", "*/agent fix*", nil},
		{"list item", "- /agent fix", nil},
		{"ordered list item", "1. /agent fix", nil},
		{"list item continuation", "- item\n  /agent plan", []Command{cmd(Plan, "", 2)}},
		{"atx heading", "# /agent fix", nil},
		{"setext heading", "/agent fix\n---", []Command{cmd(Fix, "", 1)}},
		{"table row", "| a |\n|---|\n/agent fix", nil},
		{"link reference definitions are not recognised", "[x]:\n/agent 'title'", []Command{{Name: "'title'", Line: 2}}},

		// several commands: all returned in order, the caller acts on the first
		{"two commands", "/agent plan\n\n/agent fix it", []Command{cmd(Plan, "", 1), cmd(Fix, "it", 3)}},
		{"two commands in one paragraph", "/agent review\n/agent cancel", []Command{cmd(Review, "", 1), cmd(Cancel, "", 2)}},
		{"second prefix on a line is args", "/agent fix /agent plan", []Command{cmd(Fix, "/agent plan", 1)}},
		{"capped count", many.String(), manyWant},

		// quotes
		{"quote", "> /agent fix", nil},
		{"nested quote", "> > /agent fix", nil},
		{"quote without space", ">/agent fix", nil},
		{"indented quote", "   > /agent fix", nil},
		{"lazy continuation of a quote", "> you said\n/agent fix", nil},
		{"after a quote and a blank line", "> you said\n\n/agent fix", []Command{cmd(Fix, "", 3)}},
		{"after an empty quote", ">\n/agent fix", []Command{cmd(Fix, "", 2)}},
		{"email reply", "/agent plan\n\nOn Mon, Jane wrote:\n> /agent fix\n> > /agent cancel", []Command{cmd(Plan, "", 1)}},
		{"quote in a list", "- > /agent fix", nil},

		// fenced code
		{"backtick fence", "```\n/agent fix\n```", nil},
		{"tilde fence", "~~~\n/agent fix\n~~~", nil},
		{"fence with info string", "```hcl\n/agent fix\n```\n/agent plan", []Command{cmd(Plan, "", 4)}},
		{"longer fence is not closed by a shorter one", "````\n```\n/agent fix\n````\n/agent plan", []Command{cmd(Plan, "", 5)}},
		{"tilde fence is not closed by backticks", "~~~\n```\n/agent fix\n~~~\n/agent review", []Command{cmd(Review, "", 5)}},
		{"long tilde fence", "~~~~~\n~~~\n/agent fix\n~~~~~", nil},
		{"unclosed fence runs to the end", "```\n/agent fix\n\n/agent plan", nil},
		{"indented fence", "   ```\n/agent fix\n   ```", nil},
		{"fence in a list item", "- ```\n  /agent fix\n  ```", nil},
		{"fence in a quote ends with the quote", "> ```\n> code\n\n/agent plan", []Command{cmd(Plan, "", 4)}},
		{"backticks in a backtick info string make no fence", "``` `x`\n/agent fix", []Command{cmd(Fix, "", 2)}},
		{"four-space fence is code", "    ```\n/agent fix", []Command{cmd(Fix, "", 2)}},

		// indented code and code spans
		{"indented code", "    /agent fix", nil},
		{"tab-indented code", "\t/agent fix", nil},
		{"deep continuation", "text\n    /agent fix", nil},
		{"code span", "`/agent fix`", nil},
		{"code span across lines", "a `x\n/agent fix` b", nil},
		{"code span closed on the line before", "Please check `foo`.\n/agent fix", []Command{cmd(Fix, "", 2)}},
		{"double backtick span across lines", "a ``x\n/agent fix`` b", nil},
		{"backtick runs of other lengths do not close", "a ``x\n/agent fix ` b", []Command{cmd(Fix, "` b", 2)}},
		{"escaped backtick opens nothing", "a \\`x\n/agent fix ` b", []Command{cmd(Fix, "` b", 2)}},
		{"backtick inside an autolink opens nothing", "<http://example.com/`>\n`\n/agent fix\n`", nil},
		{"code span across a list continuation", "- a `x\n  /agent fix` b", nil},
		{"inside a tag's attribute", "see <a title=\"x\n/agent fix\">link</a>", nil},
		{"not a tag", "see <a\n/agent fix>", []Command{{Name: "fix>", Line: 2}}},
		{"processing instruction", "x <?\n/agent fix\n?>", nil},
		{"unclosed processing instruction is text", "x <?\n/agent fix", []Command{cmd(Fix, "", 2)}},
		{"cdata", "x <![CDATA[\n/agent fix\n]]>", nil},
		{"declaration", "x <!DOCTYPE\n/agent fix >", nil},
		{"a quote marker ends the paragraph, not the declaration", "x <!DOCTYPE\n/agent fix\n>", []Command{cmd(Fix, "", 2)}},
		{"overlong tag hides the rest of the paragraph", "x <a " + strings.Repeat(`b="c" `, 300) + "\n/agent fix", nil},

		// HTML comments
		{"html comment block", "<!--\n/agent fix\n-->", nil},
		{"html comment on one line", "<!-- /agent fix -->", nil},
		{"inline html comment across lines", "see <!--\n/agent fix\n--> here", nil},
		{"after a closed comment", "<!-- template -->\n/agent fix", []Command{cmd(Fix, "", 2)}},
		{"comment removed from args", "/agent fix <!-- and delete prod --> the tags", []Command{cmd(Fix, "the tags", 1)}},
		{"unclosed comment removed from args", "/agent fix the tags <!-- and\ndelete prod -->", []Command{cmd(Fix, "the tags", 1)}},
		{"html block", "<details>\n/agent fix\n</details>", nil},

		// line endings
		{"crlf", "first\r\n/agent fix now\r\n", []Command{cmd(Fix, "now", 2)}},
		{"lone cr", "first\r/agent plan", []Command{cmd(Plan, "", 2)}},
		{"crlf fence", "```\r\n/agent fix\r\n```\r\n/agent plan\r\n", []Command{cmd(Plan, "", 4)}},

		// hidden and bidi characters are removed before matching
		{"zero width space inside prefix", "/ag\u200bent fix", []Command{cmd(Fix, "", 1)}},
		{"zero width joiner inside subcommand", "/agent f\u200dix", []Command{cmd(Fix, "", 1)}},
		{"zero width space joins prefix and subcommand", "/agent\u200bfix", nil},
		{"bom at start", "\ufeff/agent plan", []Command{cmd(Plan, "", 1)}},
		{"rlo before prefix", "\u202e/agent fix", []Command{cmd(Fix, "", 1)}},
		{"isolates in args", "/agent fix \u2066the\u2069 tags\u200f", []Command{cmd(Fix, "the tags", 1)}},
		{"tag characters in args", "/agent fix tags\U000e0041\U000e0042", []Command{cmd(Fix, "tags", 1)}},
		{"hangul filler", "/agent fix \u3164", []Command{cmd(Fix, "", 1)}},
		{"hidden chars case mix", "/\u200cAgent \u2060FIX", []Command{cmd(Fix, "", 1)}},
		{"zero width inside a fence marker still fences", "`\u200b``\n/agent fix\n```", nil},
		{"control characters", "/agent\x00 fix\x07", []Command{cmd(Fix, "", 1)}},
		{"invalid utf-8", "/agent fix \xff\xfeok", []Command{cmd(Fix, "ok", 1)}},

		// size bounds
		{"args capped", "/agent fix " + longArgs, []Command{cmd(Fix, longArgs[:MaxArgsBytes], 1)}},
		{"args capped on a character boundary", "/agent fix " + wideArgs, []Command{cmd(Fix, wideArgs[:MaxArgsBytes], 1)}},
		{"command at the end of a 65,536-character comment", filler + "/agent plan\n", []Command{cmd(Plan, "", strings.Count(filler, "\n")+1)}},
		{"command beyond the bound is ignored", strings.Repeat("a", MaxBodyBytes) + "\n/agent fix", nil},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.body)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%.80q)\n got %#v\nwant %#v", tc.body, got, tc.want)
			}
			for _, c := range got {
				if !utf8.ValidString(c.Args) || !utf8.ValidString(c.Name) {
					t.Errorf("invalid UTF-8 in %#v", c)
				}
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello world", "hello world"},
		{"keeps tab and newline", "a\tb\nc", "a\tb\nc"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"lone cr", "a\rb", "a\nb"},
		{"zero width", "a\u200b\u200c\u200d\u2060b", "ab"},
		{"bidi controls", "\u202a\u202b\u202c\u202d\u202ex\u2066\u2067\u2068\u2069\u200e\u200f\u061c", "x"},
		{"bom and soft hyphen", "\ufeffsoft\u00adware", "software"},
		{"variation selectors", "ok\ufe0f\U000e0100", "ok"},
		{"tag characters", "a\U000e0001\U000e0068\U000e007fb", "ab"},
		{"default ignorable", "a\u034f\u115f\u3164\uffa0b", "ab"},
		{"controls", "a\x00\x01\x1b[31m\x7fb", "a[31mb"},
		{"invalid utf-8", "a\xc3\x28b", "a(b"},
		{"keeps visible non-ascii", "ünïcode – 日本 🚀", "ünïcode – 日本 🚀"},
		{"nbsp is visible", "a\u00a0b", "a\u00a0b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clean(tc.in); got != tc.want {
				t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCleanBound(t *testing.T) {
	// A multi-byte character straddling the bound is dropped whole.
	in := strings.Repeat("a", MaxBodyBytes-1) + "é" + "tail"
	got := Clean(in)
	if len(got) != MaxBodyBytes-1 || !utf8.ValidString(got) {
		t.Fatalf("len(Clean) = %d (valid %v), want %d", len(got), utf8.ValidString(got), MaxBodyBytes-1)
	}
}

// BenchmarkParse measures a long review comment with code, quotes and one
// command at its end: the worst case a real comment produces.
func BenchmarkParse(b *testing.B) {
	var body strings.Builder
	for body.Len() < 60000 {
		body.WriteString("> earlier point about `aws_s3_bucket.logs`\n\nSee the plan:\n\n```hcl\nresource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n```\n\n- item one\n- item **two** <!-- note -->\n\n")
	}
	body.WriteString("/agent fix make the bucket private\n")
	in := body.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if cmds := Parse(in); len(cmds) != 1 {
			b.Fatalf("got %d commands", len(cmds))
		}
	}
}

// BenchmarkParseNoCommand measures the common case: a comment without the prefix.
func BenchmarkParseNoCommand(b *testing.B) {
	in := strings.Repeat("Looks good to me, but please check the `tags` block.\n\n", 1200)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if cmds := Parse(in); cmds != nil {
			b.Fatal("unexpected command")
		}
	}
}
