package handlers

import (
	"context"
	"errors"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/jobs"
	"github.com/infra-agent/infra-agent/wire"
)

// failing reports whether a completed check's conclusion is worth a fix
// attempt. Only failure and timed_out say the code is broken: action_required
// asks a person to act, cancelled and stale say nothing about the code, and
// neutral, skipped and success need no fix.
func failing(conclusion string) bool {
	return conclusion == "failure" || conclusion == "timed_out"
}

// fixTasks returns one fix task per pull request a failing check belongs to.
// GitHub lists only pull requests whose head is in the repository itself, so
// a fork's pull request rarely appears; the job layer reads the pull request
// again before deciding anyway.
func fixTasks(base jobs.Task, prs []*github.PullRequest, headSHA string, repo *github.Repository) []jobs.Task {
	tasks := make([]jobs.Task, 0, len(prs))
	for _, pr := range prs {
		if pr.GetNumber() <= 0 {
			continue
		}
		t := base
		t.Action, t.Kind = jobs.ActionRun, wire.KindFix
		t.Number = pr.GetNumber()
		t.IsPR = true
		t.HeadSHA = pr.GetHead().GetSHA()
		if t.HeadSHA == "" {
			t.HeadSHA = headSHA
		}
		t.HeadRef = pr.GetHead().GetRef()
		t.BaseRef = pr.GetBase().GetRef()
		t.Fork = isFork(pr.GetHead().GetRepo(), repo)
		if !t.Fork {
			t.HeadRepo = repo.GetFullName()
		}
		tasks = append(tasks, t)
	}
	return tasks
}

// submitEach submits every task, also when an earlier one fails, and returns
// the failures joined.
func submitEach(ctx context.Context, s Submitter, tasks []jobs.Task) error {
	var errs []error
	for _, t := range tasks {
		if err := submit(ctx, s, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
