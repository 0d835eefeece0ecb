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

	"github.com/infra-agent/infra-agent/agent/pipeline"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/publish"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/wire"
)

// outcome is what the work of a job came to.
type outcome struct {
	status     wire.Status
	conclusion string
	title      string
	summary    string
	roots      []wire.RootResult
	published  []wire.PublishedCheck
	warnings   []string
}

func (o outcome) message(j *job) wire.Complete {
	return wire.Complete{
		Version: wire.APIVersion, Status: o.status, Conclusion: o.conclusion, Title: o.title, Summary: o.summary,
		Roots: o.roots, Published: o.published, Warnings: append(o.warnings, cloudKeyWarnings(j.environ())...),
		Calls: j.audit.drain(),
	}
}

func failed(err error) outcome {
	return outcome{status: wire.StatusFailed, conclusion: "failure", title: "The runner failed",
		summary: "The job stopped with an error:\n\n```text\n" + checks.Redact(err.Error()) + "\n```\n"}
}

func cancelled(ctx context.Context) outcome {
	return outcome{status: wire.StatusCancelled, conclusion: "cancelled", title: "Cancelled",
		summary: fmt.Sprintf("The workflow run was cancelled (%v) before the job finished. Nothing was pushed.\n", context.Cause(ctx))}
}

func timedOut(d time.Duration, progress string) outcome {
	s := fmt.Sprintf("The job hit its hard deadline of %s and was stopped. Nothing was pushed.", d)
	if progress != "" {
		s += fmt.Sprintf(" It was at: `%s`.", strings.ReplaceAll(progress, "`", "'"))
	}
	return outcome{status: wire.StatusTimedOut, conclusion: "timed_out", title: "Deadline reached", summary: s + "\n"}
}

func (j *job) environ() []string {
	if j.o.Environ != nil {
		return j.o.Environ
	}
	return os.Environ()
}

// execute runs the job kind's work.
func (j *job) execute(ctx context.Context) outcome {
	switch j.spec.Kind {
	case wire.KindPlan, wire.KindReview:
		c, err := j.validate(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return outcome{} // the caller reports the cancellation or the deadline
			}
			return failed(err)
		}
		out := j.report(c.report, c.runs, c.pubErr)
		if j.spec.Kind == wire.KindReview {
			return j.review(ctx, c, out)
		}
		return out
	case wire.KindFix, wire.KindRemediate:
		return j.writeJob(ctx)
	}
	return failed(fmt.Errorf("unknown job kind %q", j.spec.Kind))
}

// checked is what the validation pipeline found and published.
type checked struct {
	report checks.Report
	runs   publish.Runs
	pubErr error
	// src is the checkout of the job's head; engine its policies (nil:
	// none), from policyPaths.
	src         string
	engine      *policy.Engine
	policyPaths []string
}

// validate fetches the source and the default branch's policies and runs the
// validation pipeline, publishing the plan and policy check runs.
func (j *job) validate(ctx context.Context) (checked, error) {
	src, pol := filepath.Join(j.dir, "src"), filepath.Join(j.dir, "policy")
	s := j.spec
	plain := &http.Client{Timeout: 5 * time.Minute}
	j.setProgress("downloading the source")
	n, err := download(ctx, j.gh, plain, s.Repository.Owner, s.Repository.Name, s.HeadSHA, src, nil)
	if err != nil {
		return checked{}, err
	}
	zerolog.Ctx(ctx).Info().Int(logKeyFiles, n).Str(logKeyRef, s.HeadSHA).Msg("source downloaded")
	engine, err := j.policies(ctx, plain, pol)
	if err != nil {
		return checked{}, err
	}
	roots, err := pipeline.DiscoverRoots(src, j.cfg.Terraform, nil)
	if err != nil {
		return checked{}, fmt.Errorf("finding the root modules: %w", err)
	}

	pub := publish.New(j.gh.Checks, publish.Target{Owner: s.Repository.Owner, Repo: s.Repository.Name, HeadSHA: s.HeadSHA, ExternalID: s.ID})
	have := publish.Runs{}
	if s.Kind == wire.KindPlan {
		have.Plan = s.CheckRunID // the job's own check run is infra-agent/plan
	}
	runs, err := pub.StartWith(ctx, have)
	if err != nil {
		return checked{}, err
	}
	opts := pipeline.Options{
		Terraform: j.terraformOptions(),
		Policy:    engine,
		Static:    s.Fork,
		Progress: func(root string, step checks.StepName, status checks.StepStatus) {
			j.setProgress(fmt.Sprintf("%s: %s %s", root, step, status))
		},
	}
	report, err := pipeline.Run(ctx, src, roots, opts)
	if err != nil {
		// Nothing is left in progress: both runs say why.
		_ = pub.Fail(context.WithoutCancel(ctx), runs, err)
		return checked{}, err
	}
	j.setProgress("publishing the results")
	pubErr := pub.Finish(ctx, runs, report)
	return checked{report: report, runs: runs, pubErr: pubErr, src: src, engine: engine, policyPaths: j.policyFiles(pol, engine)}, nil
}

// policies fetches the Rego policies from the default branch, never from the
// pull request's head, and compiles them; nil when there are none. The branch
// is named in full: a tag named like it would win a bare name.
func (j *job) policies(ctx context.Context, plain *http.Client, dir string) (*policy.Engine, error) {
	paths := j.cfg.Policy.Paths
	if len(paths) == 0 {
		return nil, nil
	}
	s := j.spec
	j.setProgress("downloading the policies from " + s.Repository.DefaultBranch)
	// The policies' data files come from the default branch too.
	keep := under(append(append([]string(nil), paths...), j.cfg.Policy.Data...))
	n, err := download(ctx, j.gh, plain, s.Repository.Owner, s.Repository.Name, "refs/heads/"+s.Repository.DefaultBranch, dir, keep)
	if err != nil {
		return nil, fmt.Errorf("fetching the policies from the default branch: %w", err)
	}
	opts := policy.ConfigOptions(dir, j.cfg.Policy)
	var found []string
	for _, p := range opts.Paths {
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		}
	}
	if n == 0 || len(found) == 0 {
		zerolog.Ctx(ctx).Info().Strs(logKeyPaths, paths).Msg("no policies on the default branch")
		return nil, nil
	}
	opts.Paths = found
	engine, err := policy.Compile(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("compiling the policies of %s: %w", s.Repository.DefaultBranch, err)
	}
	return engine, nil
}

// report turns the pipeline's report into the job's outcome.
func (j *job) report(r checks.Report, runs publish.Runs, pubErr error) outcome {
	plan, pol := checks.PlanCheck(r), checks.PolicyCheck(r)
	if pubErr != nil {
		plan.Conclusion, pol.Conclusion = "failure", "failure"
	}
	out := outcome{status: wire.StatusSucceeded, conclusion: "success", title: plan.Title,
		published: []wire.PublishedCheck{
			{Name: wire.CheckPlan, ID: runs.Plan, Conclusion: plan.Conclusion},
			{Name: wire.CheckPolicy, ID: runs.Policy, Conclusion: pol.Conclusion},
		}}
	if pipeline.Failed(r) || pubErr != nil {
		out.conclusion = "failure"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**: %s\n\n**%s**: %s\n", wire.CheckPlan, plan.Title, wire.CheckPolicy, pol.Title)
	if j.spec.Fork {
		b.WriteString("\nA fork pull request gets static checks only: no terraform init or plan, no secrets, no model.\n")
	}
	if pubErr != nil {
		fmt.Fprintf(&b, "\nPublishing the results failed: %s\n", checks.Redact(pubErr.Error()))
	}
	out.summary = b.String()
	for _, root := range r.Roots {
		rr := wire.RootResult{Dir: root.Dir, Failed: root.Failed()}
		if root.Plan != nil {
			c := root.Plan.Counts
			rr.Plan = &wire.PlanCounts{Create: c.Create, Update: c.Update, Delete: c.Delete, Replace: c.Replace}
		}
		for _, f := range root.Findings {
			if f.Severity == checks.SeverityFailure {
				rr.Failures++
			} else {
				rr.Warnings++
			}
		}
		out.roots = append(out.roots, rr)
	}
	return out
}

func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
