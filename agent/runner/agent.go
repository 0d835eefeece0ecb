package runner

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/agent/writeback"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/wire"
)

// writeJob runs a fix or remediation job: the source at the job's head and
// the default branch's policies, the trigger's context, the agent
// (deterministic fixes first, then the model through the server's proxy
// within the job's budget), then the write-back of its change.
func (j *job) writeJob(ctx context.Context) outcome {
	s := j.spec
	wb := writeback.New(j.gh, s.Repository.Owner, s.Repository.Name)
	var progress writeback.Comment
	if s.Kind == wire.KindRemediate {
		progress = j.startRemediation(ctx, wb)
	}
	c, trig, err := j.runAgent(ctx)
	if err != nil {
		r := j.result(change{})
		r.Outcome, r.Reason = checks.WriteFailed, err.Error()
		if s.Kind == wire.KindRemediate {
			j.endRemediation(context.WithoutCancel(ctx), wb, progress, r)
		}
		if ctx.Err() != nil {
			return outcome{} // the caller reports the cancellation or the deadline
		}
		return writeOutcome(r)
	}
	if s.Kind == wire.KindRemediate {
		return j.publishRemediation(ctx, wb, c, progress)
	}
	return j.publishFix(ctx, wb, c, trig)
}

// runAgent prepares the workspace and runs the agent on it.
func (j *job) runAgent(ctx context.Context) (change, trigger, error) {
	s := j.spec
	src, engine, policyPaths, err := j.workspace(ctx)
	if err != nil {
		return change{}, trigger{}, err
	}
	var trig trigger
	if s.Kind == wire.KindFix {
		if trig, err = j.readTrigger(ctx); err != nil {
			return change{}, trigger{}, err
		}
	}
	client, err := j.modelClient()
	if err != nil {
		return change{}, trig, err
	}
	j.setProgress("running the agent")
	res, err := loop.Run(ctx, j.task(trig), j.agentOptions(ctx, src, engine, policyPaths, client))
	if err != nil {
		return change{}, trig, fmt.Errorf("the agent: %w", err)
	}
	return changeOf(res, s.Actor), trig, nil
}

// agentOptions are the agent's options on the checkout src: this job's
// configuration, policies, terraform and model, its audit trail in the
// job's log.
func (j *job) agentOptions(ctx context.Context, src string, engine *policy.Engine, policyPaths []string, client model.Client) loop.Options {
	s := j.spec
	return loop.Options{
		Dir: src, Config: j.cfg, Policy: engine, PolicyPaths: policyPaths, Model: client, Static: s.Fork,
		Terraform: j.terraformOptions(),
		Audit:     audit.New(logWriter{zerolog.Ctx(ctx)}, s.ID, fmt.Sprint(s.RunID)),
	}
}

// modelClient is the model through the server's proxy, or none: a fork's
// job never gets one, nor a job whose server has no model.
func (j *job) modelClient() (model.Client, error) {
	s := j.spec
	if s.Model == nil || s.Fork || s.Budgets.ModelTokens == 0 {
		return nil, nil
	}
	cfg, err := model.Proxy(*s.Model, j.claim.Session, j.cfg.Agent.Model)
	if err != nil {
		return nil, err
	}
	return model.New(cfg)
}

// task is the agent's task for this job.
func (j *job) task(trig trigger) loop.Task {
	s := j.spec
	t := loop.Task{Kind: s.Kind, JobID: s.ID, RunID: fmt.Sprint(s.RunID), Instructions: s.Instructions,
		Trigger: brief.Trigger{Source: s.TriggerSource, Author: s.Actor, At: s.TriggeredAt,
			File: trig.File, Line: trig.Line, CheckName: trig.CheckName, CheckOutput: trig.CheckOutput}}
	if s.Kind == wire.KindRemediate {
		t.Instructions = ""
		t.Trigger.Title, t.Trigger.Body = splitIssue(s.Instructions)
	}
	return t
}

// changeOf turns the agent's result into what the write-back publishes.
func changeOf(res loop.Result, requestedBy string) change {
	c := change{
		Passed: res.Success(), NeedsReview: res.NeedsReview, Subject: res.Subject(), Summary: res.Summary, Diff: res.Diff,
		Message: res.CommitMessage(requestedBy), Body: res.PullRequestBody(),
		Iterations: res.Iterations, MaxIterations: res.MaxIterations, ModelCalls: res.ModelCalls, Tokens: res.Tokens.Total(),
		Model: res.Model, Deterministic: len(res.Deterministic),
	}
	for _, f := range res.Files {
		c.Files = append(c.Files, changedFile{File: writeback.File{Path: filepath.ToSlash(f.Path), Content: f.Content, Deleted: f.Deleted},
			Original: f.Original})
	}
	for _, sg := range res.Suggestions() {
		c.Suggestions = append(c.Suggestions, checks.Suggestion{Path: sg.Path, StartLine: sg.StartLine, EndLine: sg.EndLine, Replacement: sg.Replacement})
	}
	return c
}

// splitIssue parts a remediation's instructions (the issue's title, a blank
// line, its body) into title and body.
func splitIssue(text string) (title, body string) {
	title, body, _ = strings.Cut(strings.TrimSpace(text), "\n")
	return strings.TrimSpace(title), strings.TrimSpace(body)
}

// workspace downloads the source at the job's head and compiles the default
// branch's policies; it returns the checkout, the engine (nil without
// policies) and the policy files.
func (j *job) workspace(ctx context.Context) (string, *policy.Engine, []string, error) {
	s := j.spec
	src, pol := filepath.Join(j.dir, "src"), filepath.Join(j.dir, "policy")
	plain := &http.Client{Timeout: 5 * time.Minute}
	j.setProgress("downloading the source")
	n, err := download(ctx, j.gh, plain, s.Repository.Owner, s.Repository.Name, s.HeadSHA, src, nil)
	if err != nil {
		return "", nil, nil, err
	}
	zerolog.Ctx(ctx).Info().Int(logKeyFiles, n).Str(logKeyRef, s.HeadSHA).Msg("source downloaded")
	engine, err := j.policies(ctx, plain, pol)
	if err != nil || engine == nil {
		return src, nil, nil, err
	}
	return src, engine, j.policyFiles(pol, engine), nil
}

// policyFiles lists the configured policy paths found under dir, for the
// digest the model reads; none without an engine.
func (j *job) policyFiles(dir string, engine *policy.Engine) []string {
	if engine == nil {
		return nil
	}
	var paths []string
	for _, p := range j.cfg.Policy.Paths {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			paths = append(paths, filepath.Join(dir, filepath.FromSlash(p)))
		}
	}
	return paths
}

// terraformOptions say which terraform the job runs (--terraform, else the
// repository's terraform.binary) and with which environment.
func (j *job) terraformOptions() terraform.Options {
	binary := j.o.Terraform
	if binary == "" {
		binary = j.cfg.Terraform.Binary
	}
	return terraform.Options{Binary: binary, PluginCacheDir: envValue(j.environ(), "TF_PLUGIN_CACHE_DIR"), Environ: j.o.Environ}
}

// logWriter writes the agent's audit trail (JSON lines) into the job's log.
type logWriter struct{ log *zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line != "" {
			w.log.Info().RawJSON(logKeyAudit, []byte(line)).Msg("agent audit event")
		}
	}
	return len(p), nil
}
