package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/agent/guard"
	"github.com/infra-agent/infra-agent/agent/writeback"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/wire"
)

// change is what the agent produced, as the write-back publishes it.
type change struct {
	// Passed: the change passes validation and the gate; NeedsReview says
	// why a human must look otherwise.
	Passed      bool
	NeedsReview []string
	Subject     string
	Summary     string
	Diff        string
	// Message is the commit message, trailers included; Body the pull
	// request body's sections.
	Message string
	Body    string
	Files   []changedFile
	// Suggestions are the change as line replacements of the original
	// files (new and deleted files have none).
	Suggestions []checks.Suggestion

	Iterations, MaxIterations int
	ModelCalls, Tokens        int
	Model                     string
	Deterministic             int
}

// changedFile is one file of a change, with its content before the job (nil
// for a new file).
type changedFile struct {
	writeback.File
	Original []byte
}

func (c change) files() []writeback.File {
	out := make([]writeback.File, len(c.Files))
	for i, f := range c.Files {
		out[i] = f.File
	}
	return out
}

func (c change) needsReview() bool { return !c.Passed || len(c.NeedsReview) > 0 }

// result starts the report of a write job from the agent's change.
func (j *job) result(c change) checks.WriteResult {
	s := j.spec
	r := checks.WriteResult{
		Job: checks.JobInfo{ID: s.ID, Kind: s.Kind, Static: s.Fork, Actor: s.Actor, Source: s.TriggerSource,
			DefaultBranch: s.Repository.DefaultBranch},
		Number: s.Number, Subject: c.Subject, Summary: c.Summary, Diff: c.Diff, Passed: c.Passed, NeedsReview: c.NeedsReview,
		Deterministic: c.Deterministic, Iterations: c.Iterations, MaxIterations: c.MaxIterations, ModelCalls: c.ModelCalls,
		Tokens: c.Tokens, Model: c.Model, Duration: time.Since(j.started), Head: s.HeadSHA, Branch: s.HeadRef,
	}
	for _, f := range c.Files {
		added, removed := guard.Lines(guard.FileDiff{Path: f.Path, Before: f.Original, After: f.Content})
		r.Files = append(r.Files, checks.FileStat{Path: f.Path, Added: added, Removed: removed, Deleted: f.Deleted,
			Created: f.Original == nil && !f.Deleted})
	}
	return r
}

// writeOutcome turns a write job's report into the job's outcome: its check
// run's conclusion and texts.
func writeOutcome(r checks.WriteResult) outcome {
	conclusion, out := checks.WriteCheckRun(r)
	status := wire.StatusSucceeded
	if r.Outcome == checks.WriteFailed {
		status = wire.StatusFailed
	}
	return outcome{status: status, conclusion: conclusion, title: out.Title, summary: out.Summary}
}

// errRefusedTarget is a push the runner refuses whatever the server said:
// the spec names no branch of this repository to push to.
var errRefusedTarget = errors.New("refusing to push")

// pushTarget checks the branch a fix may be pushed to: the pull request's own
// head branch, in this repository, never the default branch.
func (j *job) pushTarget() (writeback.Target, error) {
	s := j.spec
	switch {
	case s.Kind != wire.KindFix || !s.PullRequest:
		return writeback.Target{}, fmt.Errorf("%w: a %s job pushes no commit to a pull request", errRefusedTarget, s.Kind)
	case s.Fork:
		return writeback.Target{}, fmt.Errorf("%w: pull request #%d comes from a fork", errRefusedTarget, s.Number)
	case s.HeadRef == "" || s.HeadSHA == "":
		return writeback.Target{}, fmt.Errorf("%w: the job names no head branch", errRefusedTarget)
	case strings.TrimPrefix(s.HeadRef, "refs/heads/") == s.Repository.DefaultBranch:
		return writeback.Target{}, fmt.Errorf("%w: the head branch %s is the default branch", errRefusedTarget, s.HeadRef)
	}
	return writeback.Target{Branch: strings.TrimPrefix(s.HeadRef, "refs/heads/"), Parent: s.HeadSHA}, nil
}

// publishFix puts a fix job's change where it belongs: a commit on the pull
// request's branch when its base branch is protected against an unreviewed
// merge, else suggestions; a change that needs review as a diff in a
// comment unless the repository pushes such changes; and an answer in the
// review thread when the fix was asked for there.
func (j *job) publishFix(ctx context.Context, wb *writeback.Client, c change, trig trigger) outcome {
	r := j.result(c)
	r.Outcome = j.placeFix(ctx, wb, c, trig, &r)
	switch {
	case trig.Thread != 0:
		j.replyInThread(ctx, wb, trig, c, r)
	case r.Outcome == checks.WriteMoved:
		// The job's check run is on a commit the pull request no longer
		// shows: say it where people look.
		if _, err := wb.Comment(ctx, j.spec.Number, checks.MovedComment(r)); err != nil {
			logWarn(ctx, err, "saying the branch moved")
		}
	}
	return writeOutcome(r)
}

// placeFix decides and does where the change goes, and says where it went.
func (j *job) placeFix(ctx context.Context, wb *writeback.Client, c change, trig trigger, r *checks.WriteResult) checks.WriteOutcome {
	s := j.spec
	if len(c.Files) == 0 {
		return checks.WriteUnchanged
	}
	if s.Fork {
		return j.suggest(ctx, wb, c, trig, r)
	}
	target, err := j.pushTarget()
	if err != nil {
		r.Reason = err.Error()
		return checks.WriteFailed
	}
	j.setProgress("reading the protection of " + s.BaseRef)
	prot, err := wb.ReadProtection(ctx, s.BaseRef)
	if err != nil {
		r.Reason = "reading the base branch's protection: " + err.Error()
		return checks.WriteFailed
	}
	if !prot.Gated() {
		r.MissingProtection = prot.Missing()
		return j.suggest(ctx, wb, c, trig, r)
	}
	if prot.Classic {
		r.ProtectionNote = classicNote(s.BaseRef)
	}
	if c.needsReview() && !j.cfg.Fix.PushNeedsReview {
		if _, err := wb.Comment(ctx, s.Number, checks.DiffComment(*r)); err != nil {
			r.Reason = err.Error()
			return checks.WriteFailed
		}
		return checks.WriteCommented
	}
	j.setProgress("pushing to " + target.Branch)
	commit, err := wb.Push(ctx, target, writeback.Change{Files: c.files(), Message: c.Message})
	var moved *writeback.MovedError
	switch {
	case errors.As(err, &moved):
		r.MovedTo = moved.Actual
		return checks.WriteMoved
	case err != nil:
		r.Reason = err.Error()
		return checks.WriteFailed
	}
	r.Commit, r.CommitURL = commit.SHA, commit.URL
	return checks.WritePushed
}

// classicNote says what the job could not read about branch protection.
func classicNote(branch string) string {
	return fmt.Sprintf("Branch protection is on for %s; whether it requires a review is readable only with the administration permission, which infra-agent does not ask for. Make sure it does.", branch)
}

// replyInThread answers a fix asked for in a review comment in its thread:
// the pushed commit, or the fix of that line as a one-click suggestion, or
// why there is none. A failure is only logged: the check run says it too.
func (j *job) replyInThread(ctx context.Context, wb *writeback.Client, trig trigger, c change, r checks.WriteResult) {
	var sug *checks.Suggestion
	if r.Outcome != checks.WritePushed {
		sug = suggestionAt(c.Suggestions, trig.File, trig.Line)
	}
	if _, err := wb.Reply(ctx, j.spec.Number, trig.Thread, checks.ThreadReply(r, sug)); err != nil {
		logWarn(ctx, err, "answering in the review thread")
	}
}

// suggestionAt is the suggestion that replaces exactly the thread's line: a
// suggestion in a reply applies to the thread's line, so one that spans
// other lines would corrupt the file when applied.
func suggestionAt(all []checks.Suggestion, file string, line int) *checks.Suggestion {
	for i, s := range all {
		if s.Path == file && s.StartLine == line && s.EndLine == line {
			return &all[i]
		}
	}
	return nil
}

// logWarn logs a failure that the job's check run reports anyway.
func logWarn(ctx context.Context, err error, what string) {
	zerolog.Ctx(ctx).Warn().Err(err).Msg(what)
}

// suggest offers the change without pushing it: in the review thread when
// the fix was asked for there (the reply carries it), else as a comment on
// the pull request that says why it was not pushed and holds the change.
func (j *job) suggest(ctx context.Context, wb *writeback.Client, c change, trig trigger, r *checks.WriteResult) checks.WriteOutcome {
	if trig.Thread != 0 {
		return checks.WriteSuggested
	}
	r.DiffOmittedFromSuggestions = true
	posted, err := wb.Comment(ctx, j.spec.Number, checks.SuggestionsReview(*r))
	if err != nil {
		r.Reason = err.Error()
		return checks.WriteFailed
	}
	r.SuggestionsURL = posted.URL
	return checks.WriteSuggested
}
