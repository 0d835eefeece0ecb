package runner

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/infra-agent/infra-agent/agent/writeback"
	"github.com/infra-agent/infra-agent/checks"
)

// A remediation job's issue shows the job while it runs: one comment, posted
// when the runner starts and edited when it ends (never a second one), which
// links the pull request.

// startRemediation posts the issue's progress comment. A failure is logged:
// the job goes on, and its end is posted as a new comment instead.
func (j *job) startRemediation(ctx context.Context, wb *writeback.Client) writeback.Comment {
	s := j.spec
	info := checks.JobInfo{ID: s.ID, Kind: s.Kind, Actor: s.Actor, Source: s.TriggerSource}
	url := ""
	if s.CheckRunID != 0 {
		url = fmt.Sprintf("%s/%s/runs/%d", webURL(s.GitHubAPIURL), s.Repository.FullName(), s.CheckRunID)
	}
	c, err := wb.Comment(ctx, s.Number, checks.IssueWorking(info, url))
	if err != nil {
		logWarn(ctx, err, "posting the issue's progress comment")
	}
	return c
}

// endRemediation replaces the progress comment with how the job ended.
func (j *job) endRemediation(ctx context.Context, wb *writeback.Client, progress writeback.Comment, r checks.WriteResult) {
	body := checks.IssueDone(r)
	var err error
	if progress.ID != 0 {
		err = wb.EditComment(ctx, progress.ID, body)
	} else {
		_, err = wb.Comment(ctx, j.spec.Number, body)
	}
	if err != nil {
		logWarn(ctx, err, "posting how the remediation ended on the issue")
	}
}

// publishRemediation opens the remediation pull request, or says on the
// issue why there is none.
func (j *job) publishRemediation(ctx context.Context, wb *writeback.Client, c change, progress writeback.Comment) outcome {
	r := j.result(c)
	r.Branch = ""
	r.Outcome = j.placeRemediation(ctx, wb, c, &r)
	j.endRemediation(ctx, wb, progress, r)
	return writeOutcome(r)
}

// remediationBranch is the branch of a job's remediation pull request:
// agent/remediate/issue-<n>-<the job id's last 8 characters>, its random
// part, so each job has its own.
func (j *job) remediationBranch() string {
	id := strings.ReplaceAll(j.spec.ID, "-", "")
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return fmt.Sprintf("agent/remediate/issue-%d-%s", j.spec.Number, id)
}

// issueTitle is the issue's title: the first line of the job's instructions
// (the issue's title, then its body).
func (j *job) issueTitle() string {
	title, _, _ := strings.Cut(strings.TrimSpace(j.spec.Instructions), "\n")
	if title == "" {
		title = fmt.Sprintf("issue #%d", j.spec.Number)
	}
	return title
}

func (j *job) placeRemediation(ctx context.Context, wb *writeback.Client, c change, r *checks.WriteResult) checks.WriteOutcome {
	s := j.spec
	if len(c.Files) == 0 {
		return checks.WriteUnchanged
	}
	base := s.Repository.DefaultBranch
	j.setProgress("reading the protection of " + base)
	prot, err := wb.ReadProtection(ctx, base)
	if err != nil {
		r.Reason = "reading the default branch's protection: " + err.Error()
		return checks.WriteFailed
	}
	if !prot.Gated() {
		r.MissingProtection = prot.Missing()
		return checks.WriteSuggested // the issue comment holds the change
	}
	if prot.Classic {
		r.ProtectionNote = classicNote(base)
	}
	text := writeback.PullRequestText{Title: checks.RemediationTitle(j.issueTitle(), c.needsReview()),
		Body: checks.RemediationBody(*r, c.Body), Draft: c.needsReview()}
	j.setProgress("opening the pull request")
	pr, err := wb.OpenPullRequest(ctx, writeback.NewBranch{Name: j.remediationBranch(), Parent: s.HeadSHA, Base: base},
		writeback.Change{Files: c.files(), Message: c.Message}, text)
	if err != nil {
		r.Reason = err.Error()
		return checks.WriteFailed
	}
	r.PullRequest, r.PullRequestURL, r.Branch = pr.Number, pr.URL, pr.Branch
	r.Commit, r.CommitURL = pr.Commit.SHA, pr.Commit.URL
	return checks.WriteOpened
}

// webURL derives GitHub's web address from its API's: api.github.com serves
// github.com; GitHub Enterprise Server serves its API under /api/v3 of the
// web host.
func webURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "https://github.com"
	}
	if u.Host == "api.github.com" {
		return "https://github.com"
	}
	return u.Scheme + "://" + u.Host
}
