package runner

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/wire"
)

// trigger is what a write job's runner reads about its trigger beyond the
// spec: the review comment a fix was asked in (its file, line and thread),
// or the failing check an automatic fix is for (its output and annotations,
// untrusted text the agent reads as data).
type trigger struct {
	File   string
	Line   int
	Thread int64 // the review thread's first comment, where the answer goes

	CheckName   string
	CheckOutput string
}

// maxCheckOutput bounds what a failing check contributes to the task brief.
const maxCheckOutput = 12 << 10

// maxAnnotations bounds the annotations read per failing check.
const maxAnnotations = 50

// readTrigger reads the trigger of a fix job: nothing for a plain `/agent
// fix`, the review comment, or the failing check run or suite.
func (j *job) readTrigger(ctx context.Context) (trigger, error) {
	s := j.spec
	owner, repo := s.Repository.Owner, s.Repository.Name
	switch {
	case s.TriggerID == 0:
		return trigger{}, nil
	case s.TriggerSource == "pull_request_review_comment":
		c, _, err := j.gh.PullRequests.GetComment(ctx, owner, repo, s.TriggerID)
		if err != nil {
			return trigger{}, fmt.Errorf("reading review comment %d: %w", s.TriggerID, err)
		}
		t := trigger{File: c.GetPath(), Line: c.GetLine(), Thread: c.GetID()}
		if t.Line == 0 {
			t.Line = c.GetOriginalLine() // a comment on a line the diff no longer shows
		}
		if c.GetInReplyTo() != 0 {
			t.Thread = c.GetInReplyTo() // replies go under the thread's first comment
		}
		return t, nil
	case s.TriggerSource == "check_run":
		run, _, err := j.gh.Checks.GetCheckRun(ctx, owner, repo, s.TriggerID)
		if err != nil {
			return trigger{}, fmt.Errorf("reading check run %d: %w", s.TriggerID, err)
		}
		return j.checkTrigger(ctx, []*github.CheckRun{run})
	case s.TriggerSource == "check_suite":
		list, _, err := j.gh.Checks.ListCheckRunsCheckSuite(ctx, owner, repo, s.TriggerID, &github.ListCheckRunsOptions{
			Status: github.String("completed"), ListOptions: github.ListOptions{PerPage: 100},
		})
		if err != nil {
			return trigger{}, fmt.Errorf("reading the check runs of suite %d: %w", s.TriggerID, err)
		}
		var failing []*github.CheckRun
		for _, r := range list.CheckRuns {
			if (r.GetConclusion() == "failure" || r.GetConclusion() == "timed_out") && !wire.IsOwnCheck(r.GetName()) {
				failing = append(failing, r)
			}
		}
		return j.checkTrigger(ctx, failing)
	}
	return trigger{}, nil
}

// checkTrigger renders failing check runs, with their annotations, as the
// text the agent reads.
func (j *job) checkTrigger(ctx context.Context, runs []*github.CheckRun) (trigger, error) {
	var names []string
	var b strings.Builder
	for _, r := range runs {
		names = append(names, r.GetName())
		o := r.GetOutput()
		fmt.Fprintf(&b, "Check %q concluded %s.\n", r.GetName(), r.GetConclusion())
		for _, part := range []string{o.GetTitle(), o.GetSummary(), o.GetText()} {
			if part = strings.TrimSpace(part); part != "" {
				b.WriteString(part + "\n")
			}
		}
		if o.GetAnnotationsCount() == 0 {
			continue
		}
		anns, _, err := j.gh.Checks.ListCheckRunAnnotations(ctx, j.spec.Repository.Owner, j.spec.Repository.Name, r.GetID(),
			&github.ListOptions{PerPage: maxAnnotations})
		if err != nil {
			return trigger{}, fmt.Errorf("reading the annotations of check run %d: %w", r.GetID(), err)
		}
		for _, a := range anns {
			fmt.Fprintf(&b, "%s:%d: %s: %s %s\n", a.GetPath(), a.GetStartLine(), a.GetAnnotationLevel(), a.GetTitle(), a.GetMessage())
		}
	}
	out := b.String()
	if n := maxCheckOutput; len(out) > n {
		for n > 0 && !utf8.RuneStart(out[n]) {
			n--
		}
		out = out[:n] + "\n(cut)\n"
	}
	return trigger{CheckName: strings.Join(names, ", "), CheckOutput: out}, nil
}
