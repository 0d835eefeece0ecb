package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/workspace"
	"github.com/infra-agent/infra-agent/checks/redact"
	"github.com/infra-agent/infra-agent/command"
)

// Env is what the tools act on, for one job.
type Env struct {
	Workspace *workspace.Workspace
	// Content checks Terraform changes against the repository as it was.
	Content *guard.Content
	// MaxDiffLines bounds the whole change (agent.max_diff_lines).
	MaxDiffLines int
	// Roots are the root modules, repository-relative; an address names a
	// block as seen from one of them.
	Roots []string
	// Validate runs the validation pipeline and returns compact feedback.
	Validate func(ctx context.Context) (string, error)
	// Finish records the model's summary of its work.
	Finish func(summary string)
	// Comment records a review comment.
	Comment func(c ReviewComment) error
}

// ReviewComment is a comment the model leaves on a line, in a review.
type ReviewComment struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Body string `json:"body"`
}

// maxReadLines bounds one read.
const maxReadLines = 400

// Untrusted frames text the model reads (file contents, tool output): hidden
// and bidi characters removed, secrets redacted.
func Untrusted(s string) string {
	return redact.String(command.Clean(s))
}

func listFilesTool() *tool {
	return &tool{
		name:        "list_files",
		description: "List files under dir (default .), optionally matching glob (** for any depth).",
		schema: []byte(`{"type":"object","additionalProperties":false,"properties":{
			"dir":{"type":"string","maxLength":512},
			"glob":{"type":"string","maxLength":256}}}`),
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			dir := str(args, "dir")
			if dir == "" {
				dir = "."
			}
			files, truncated, err := env.Workspace.List(dir, str(args, "glob"))
			if err != nil {
				return "", asRefusal(err)
			}
			if len(files) == 0 {
				return "no files", nil
			}
			out := strings.Join(files, "\n")
			if truncated {
				out += fmt.Sprintf("\n…more than %d files; narrow the directory or the glob", workspace.MaxListed)
			}
			return Untrusted(out), nil
		},
	}
}

func readFileTool() *tool {
	return &tool{
		name:        "read_file",
		description: fmt.Sprintf("Read a file's lines (at most %d a call), numbered.", maxReadLines),
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["path"],"properties":{
			"path":{"type":"string","minLength":1,"maxLength":512},
			"start_line":{"type":"integer","minimum":1},
			"end_line":{"type":"integer","minimum":1}}}`),
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			data, err := env.Workspace.ReadFile(str(args, "path"))
			if err != nil {
				return "", asRefusal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			start, end := integer(args, "start_line"), integer(args, "end_line")
			if start == 0 {
				start = 1
			}
			if end == 0 || end > len(lines) {
				end = len(lines)
			}
			if end-start+1 > maxReadLines {
				end = start + maxReadLines - 1
			}
			if start > len(lines) || start > end {
				return "", fmt.Errorf("lines %d-%d: the file has %d lines", start, end, len(lines))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s, lines %d-%d of %d:\n", str(args, "path"), start, end, len(lines))
			for i := start; i <= end; i++ {
				fmt.Fprintf(&b, "%5d| %s\n", i, lines[i-1])
			}
			return Untrusted(b.String()), nil
		},
	}
}

func searchTool() *tool {
	return &tool{
		name:        "search",
		description: fmt.Sprintf("Search files (optionally matching glob) for an RE2 pattern; at most %d lines.", workspace.MaxMatches),
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["pattern"],"properties":{
			"pattern":{"type":"string","minLength":1,"maxLength":200},
			"glob":{"type":"string","maxLength":256}}}`),
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			matches, truncated, err := env.Workspace.Search(str(args, "pattern"), str(args, "glob"))
			if err != nil {
				return "", asRefusal(err)
			}
			if len(matches) == 0 {
				return "no matches", nil
			}
			var b strings.Builder
			for _, m := range matches {
				text := m.Text
				if len(text) > 200 {
					text = text[:200] + "…"
				}
				fmt.Fprintf(&b, "%s:%d: %s\n", m.Path, m.Line, text)
			}
			if truncated {
				fmt.Fprintf(&b, "…more than %d matches; narrow the pattern or the glob\n", workspace.MaxMatches)
			}
			return Untrusted(b.String()), nil
		},
	}
}

func writeFileTool() *tool {
	return &tool{
		name:        "write_file",
		description: "Create or replace a whole file.",
		schema: []byte(`{"type":"object","additionalProperties":false,"required":["path","content"],"properties":{
			"path":{"type":"string","minLength":1,"maxLength":512},
			"content":{"type":"string","maxLength":262144}}}`),
		writes: true,
		run: func(_ context.Context, env *Env, args map[string]any) (string, error) {
			rel, err := GuardedWrite(env, str(args, "path"), []byte(str(args, "content")))
			if err != nil {
				return "", err
			}
			return "wrote " + rel, nil
		},
	}
}

// GuardedWrite writes a file after checking the whole change it would make:
// the path rules, the content rules of every Terraform file changed so far
// plus this one, and the diff rules (secrets, size). It returns the cleaned
// path; a *Refusal when a rule refuses the write. Deterministic fixes write
// through it too.
func GuardedWrite(env *Env, p string, content []byte) (string, error) {
	rel, err := env.Workspace.CheckWrite(p)
	if err != nil {
		return "", asRefusal(err)
	}
	changes, err := env.Workspace.Changes()
	if err != nil {
		return "", err
	}
	changed := map[string][]byte{rel: content}
	diffs := []guard.FileDiff{}
	for _, c := range changes {
		if c.Path != rel {
			changed[c.Path] = c.After
			diffs = append(diffs, guard.FileDiff{Path: c.Path, Before: c.Before, After: c.After})
		}
	}
	before, err := original(env, rel, changes)
	if err != nil {
		return "", err
	}
	diffs = append(diffs, guard.FileDiff{Path: rel, Before: before, After: content})
	violations := env.Content.Check(changed)
	violations = append(violations, guard.CheckDiff(diffs, env.MaxDiffLines)...)
	if len(violations) > 0 {
		var msgs []string
		for _, v := range violations {
			msgs = append(msgs, v.Error())
		}
		return "", refuse("writing %s: %s", rel, strings.Join(msgs, "; "))
	}
	if err := env.Workspace.WriteFile(rel, content); err != nil {
		return "", asRefusal(err)
	}
	return rel, nil
}

// original returns a file's content before the job changed it (nil when it
// did not exist).
func original(env *Env, rel string, changes []workspace.Change) ([]byte, error) {
	for _, c := range changes {
		if c.Path == rel {
			return c.Before, nil
		}
	}
	data, err := env.Workspace.ReadFile(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, asRefusal(err)
	}
	return data, nil
}

// asRefusal turns a workspace refusal into a tool refusal.
func asRefusal(err error) error {
	if errors.Is(err, workspace.ErrRefused) {
		return &Refusal{Reason: err.Error()}
	}
	return err
}
