package terraform

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

// Severities of a Diagnostic, as terraform names them.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Diagnostic is one error or warning terraform reported.
type Diagnostic struct {
	Severity string // SeverityError or SeverityWarning
	Summary  string
	Detail   string
	// File is the file the diagnostic is about, as terraform names it:
	// relative to the working directory (a local module's files start with
	// its relative source path). Empty when terraform gave no location.
	File string
	// Line and EndLine are 1-based; 0 when unknown.
	Line    int
	Column  int
	EndLine int
}

// Validation is the result of `terraform validate -json`, its diagnostics in
// file and line order.
type Validation struct {
	Valid       bool
	Diagnostics []Diagnostic
}

// Validate runs `terraform validate -json`. An invalid configuration is not an
// error: it is a Validation with Valid false and error diagnostics. Validate
// needs an initialised working directory.
func (c *CLI) Validate(ctx context.Context) (Validation, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.tf.Validate(ctx)
	if err != nil {
		return Validation{}, c.wrap(ctx, "validate", err)
	}
	v := Validation{Valid: out.Valid}
	for _, d := range out.Diagnostics {
		v.Diagnostics = append(v.Diagnostics, fromJSON(d))
	}
	// terraform reports in no fixed order; a report should not change
	// between runs of the same configuration.
	slices.SortStableFunc(v.Diagnostics, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return v, nil
}

func fromJSON(d tfjson.Diagnostic) Diagnostic {
	out := Diagnostic{Severity: string(d.Severity), Summary: d.Summary, Detail: d.Detail}
	if d.Range != nil {
		out.File = filepath.ToSlash(d.Range.Filename)
		out.Line, out.Column, out.EndLine = d.Range.Start.Line, d.Range.Start.Column, d.Range.End.Line
	}
	return out
}

// Unformatted is a file `terraform fmt` would change.
type Unformatted struct {
	// File is relative to the working directory, with forward slashes.
	File string
	// Line is the first line formatting changes (1-based; 0 if unknown).
	Line int
}

// FormatCheck runs `terraform fmt -check` on the working directory (not its
// subdirectories) and returns the files that are not formatted, each with the
// first line formatting would change. A file terraform cannot parse is an
// error whose diagnostics say where.
func (c *CLI) FormatCheck(ctx context.Context) ([]Unformatted, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ok, files, err := c.tf.FormatCheck(ctx)
	if err != nil {
		return nil, c.wrap(ctx, "fmt", err)
	}
	if ok {
		return nil, nil
	}
	out := make([]Unformatted, 0, len(files))
	for _, f := range files {
		line, err := c.firstChange(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, Unformatted{File: filepath.ToSlash(f), Line: line})
	}
	return out, nil
}

// firstChange formats one file through `terraform fmt -` and returns the
// first line that differs.
func (c *CLI) firstChange(ctx context.Context, file string) (int, error) {
	src, err := readFile(filepath.Join(c.tf.WorkingDir(), file))
	if err != nil {
		return 0, fmt.Errorf("reading %s to locate its formatting change: %w", file, err)
	}
	var formatted strings.Builder
	if err := c.tf.Format(ctx, strings.NewReader(src), &formatted); err != nil {
		return 0, c.wrap(ctx, "fmt", err)
	}
	return firstDifferentLine(src, formatted.String()), nil
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

func firstDifferentLine(a, b string) int {
	al := strings.Split(strings.ReplaceAll(a, "\r\n", "\n"), "\n")
	bl := strings.Split(strings.ReplaceAll(b, "\r\n", "\n"), "\n")
	for i := range max(len(al), len(bl)) {
		if i >= len(al) || i >= len(bl) || al[i] != bl[i] {
			return i + 1
		}
	}
	return 0
}

// FormatWrite runs `terraform fmt -write=true` on the working directory.
func (c *CLI) FormatWrite(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.wrap(ctx, "fmt", c.tf.FormatWrite(ctx))
}

// CommandError is a terraform command that failed or timed out.
type CommandError struct {
	Binary  string // "terraform" or "tofu"
	Command string // "init", "plan", ...
	// Timeout is set when the command ran out of time.
	Timeout time.Duration
	// Stderr is what terraform printed on stderr, without its box drawing;
	// Diagnostics are its errors and warnings, parsed from it.
	Stderr      string
	Diagnostics []Diagnostic
	err         error
}

// Error gives the command and its error diagnostics (file:line: summary:
// detail), or terraform's last words when it printed none.
func (e *CommandError) Error() string {
	prefix := e.Binary + " " + e.Command
	if e.Timeout > 0 {
		return fmt.Sprintf("%s timed out after %s", prefix, e.Timeout)
	}
	// Errors at a place in the configuration first: terraform init puts a
	// general "problems with the configuration, described below" first.
	var msgs, general []string
	for _, d := range e.Diagnostics {
		switch {
		case d.Severity != SeverityError:
		case d.File != "":
			msgs = append(msgs, d.String())
		default:
			general = append(general, d.String())
		}
	}
	msgs = append(msgs, general...)
	if len(msgs) == 0 {
		if s := strings.TrimSpace(e.Stderr); s != "" {
			msgs = append(msgs, s)
		} else {
			msgs = append(msgs, e.err.Error())
		}
	}
	return prefix + ": " + strings.Join(msgs, "; ")
}

// Unwrap returns terraform-exec's error.
func (e *CommandError) Unwrap() error { return e.err }

// String formats a diagnostic as "file:line: summary: detail".
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			b.WriteString(":" + strconv.Itoa(d.Line))
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": " + d.Detail)
	}
	return b.String()
}

var (
	diagStart = regexp.MustCompile(`^(Error|Warning): (.*)$`)
	diagWhere = regexp.MustCompile(`^\s*on (.+?) line (\d+)(, in .*)?:$`)
	snippet   = regexp.MustCompile(`^\s*\d+: `)
)

// parseOutput strips terraform's box drawing from its human output and
// parses the diagnostics in it ("Error: summary", "on FILE line N", detail).
func parseOutput(text string) (string, []Diagnostic) {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimRight(l, " ")
		switch {
		case t == "╷" || t == "╵":
			continue
		case strings.HasPrefix(t, "│"):
			t = strings.TrimPrefix(strings.TrimPrefix(t, "│"), " ")
		case strings.HasPrefix(t, "exit status "):
			continue
		}
		lines = append(lines, t)
	}
	var diags []Diagnostic
	var cur *Diagnostic
	var detail []string
	// terraform wraps a long summary onto the following lines, up to the
	// blank line that separates it from the location and the detail.
	inSummary := false
	flush := func() {
		if cur != nil {
			cur.Detail = strings.Join(strings.Fields(strings.Join(detail, " ")), " ")
			diags = append(diags, *cur)
		}
		cur, detail = nil, nil
	}
	for _, l := range lines {
		if m := diagStart.FindStringSubmatch(l); m != nil {
			flush()
			cur = &Diagnostic{Severity: strings.ToLower(m[1]), Summary: strings.TrimSpace(m[2])}
			inSummary = true
			continue
		}
		if cur == nil {
			continue
		}
		if inSummary {
			if t := strings.TrimSpace(l); t != "" && !diagWhere.MatchString(l) {
				cur.Summary += " " + t
				continue
			}
			inSummary = false
		}
		if m := diagWhere.FindStringSubmatch(l); m != nil && cur.File == "" {
			cur.File = filepath.ToSlash(m[1])
			cur.Line, _ = strconv.Atoi(m[2])
			continue
		}
		if t := strings.TrimSpace(l); t == "" || snippet.MatchString(l) || strings.HasPrefix(t, "├") || strings.HasPrefix(t, "│") {
			continue
		}
		detail = append(detail, strings.TrimSpace(l))
	}
	flush()
	return strings.TrimSpace(strings.Join(lines, "\n")), diags
}
