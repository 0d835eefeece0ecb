package loop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/budget"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/tools"
	"github.com/infra-agent/infra-agent/wire"
)

// maxOutputTokens bounds one model answer.
const maxOutputTokens = 8192

// conversation is the model phase's state.
type conversation struct {
	system   string
	messages []model.Message
	finished bool   // the model called finish (or ended its turn)
	summary  string // what it said it did
}

// converse asks the model for what is left, under the budget, validating
// after its edits and feeding back what remains, until validation passes, a
// limit is reached, or the model gives up.
func (r *run) converse(ctx context.Context) error {
	ctx, cancel := context.WithDeadline(ctx, r.budget.Deadline())
	defer cancel()
	c := &conversation{system: brief.System(r.task.Kind, r.registry.Names())}
	c.messages = []model.Message{{Role: model.RoleUser, Text: r.brief()}}
	r.env.Finish = func(summary string) { c.finished, c.summary = true, summary }
	r.env.Validate = r.validationTool
	defer func() { r.res.Summary = brief.Sanitize(c.summary, 4000) }()
	for {
		if err := r.budget.StartTurn(); err != nil {
			if r.limitReached(err) {
				return nil
			}
			return err
		}
		resp, err := r.call(ctx, c)
		if err != nil {
			if r.limitReached(r.budget.Check()) || r.limitReached(r.deadline(ctx)) {
				return nil
			}
			r.needsReview("the model call failed: " + brief.Sanitize(err.Error(), 300))
			r.audit.Emit(audit.Event{Type: audit.TypeError, Detail: "model call: " + err.Error()})
			return nil
		}
		c.messages = append(c.messages, model.Message{Role: model.RoleAssistant, Text: resp.Text, ToolCalls: resp.ToolCalls})
		results, stop := r.runTools(ctx, resp.ToolCalls)
		if len(resp.ToolCalls) == 0 {
			c.finished = true
			if c.summary == "" {
				c.summary = resp.Text
			}
		}
		next := model.Message{Role: model.RoleUser, ToolResults: results}
		if stop {
			return nil
		}
		if c.finished && r.task.Kind == wire.KindReview {
			return nil // a review changes nothing to validate
		}
		if c.finished {
			done, feedback := r.iterate(ctx)
			if done {
				return nil
			}
			c.finished = false
			next.Text = feedback
		}
		c.messages = append(c.messages, next)
	}
}

// call makes one model call and counts it.
func (r *run) call(ctx context.Context, c *conversation) (model.Response, error) {
	start := r.now()
	resp, err := r.opts.Model.Complete(ctx, model.Request{
		System: c.system, Messages: c.messages, Tools: r.registry.Declarations(), MaxOutputTokens: maxOutputTokens,
	})
	r.res.ModelCalls++
	r.res.Tokens = r.res.Tokens.Add(resp.Usage)
	r.budget.AddTokens(resp.Usage.Total())
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	r.audit.Emit(audit.Event{Type: audit.TypeModelCall, Outcome: outcome, DurationMS: r.now().Sub(start).Milliseconds(),
		Data: map[string]any{"input_tokens": resp.Usage.Input, "output_tokens": resp.Usage.Output, "tool_calls": len(resp.ToolCalls)}})
	return resp, err
}

// brief builds the task brief for the model.
func (r *run) brief() string {
	var done, rules []string
	for _, a := range r.res.Deterministic {
		done = append(done, a.Description)
	}
	targets := r.judge(r.latest).remaining
	for _, f := range targets {
		rules = append(rules, f.Rule)
	}
	return brief.Build(brief.Input{
		Kind:         r.task.Kind,
		JobID:        r.task.JobID,
		Instructions: r.task.Instructions,
		Trigger:      r.task.Trigger,
		Targets:      targets,
		Report:       r.latest,
		Done:         done,
		Digest:       brief.Digest(r.opts.PolicyPaths, rules),
		Read:         r.ws.ReadFile,
	})
}

// runTools runs the model's calls in order. stop is set when a limit ends
// the job.
func (r *run) runTools(ctx context.Context, calls []model.ToolCall) (results []model.ToolResult, stop bool) {
	for _, tc := range calls {
		if stop {
			results = append(results, model.ToolResult{CallID: tc.ID, Content: "not run: the job stopped", IsError: true})
			continue
		}
		if err := r.budget.StartToolCall(); err != nil {
			if r.limitReached(err) {
				stop = true
				results = append(results, model.ToolResult{CallID: tc.ID, Content: "not run: " + err.Error(), IsError: true})
				continue
			}
		}
		start := time.Now()
		out, err := r.registry.Call(ctx, r.env, tc.Name, tc.Input)
		if r.registry.Writes(tc.Name) && err == nil {
			r.dirty = true
		}
		res := model.ToolResult{CallID: tc.ID, Content: tools.Untrusted(out)}
		outcome := "ok"
		var refusal *tools.Refusal
		switch {
		case errors.As(err, &refusal):
			outcome = "refused"
			res.Content, res.IsError = tools.Untrusted(err.Error()), true
			r.res.Refusals = append(r.res.Refusals, Refusal{Tool: clipName(tc.Name), Reason: brief.Sanitize(refusal.Reason, 500)})
			r.audit.Emit(audit.Event{Type: audit.TypeRefusal, Tool: clipName(tc.Name), Args: string(tc.Input), Detail: refusal.Reason})
		case err != nil:
			outcome = "error"
			res.Content, res.IsError = tools.Untrusted("error: "+err.Error()), true
		}
		r.audit.Emit(audit.Event{Type: audit.TypeToolCall, Tool: clipName(tc.Name), Args: string(tc.Input), Outcome: outcome, DurationMS: time.Since(start).Milliseconds()})
		results = append(results, res)
		if r.res.Limit != "" {
			stop = true
		}
	}
	return results, stop
}

// validationTool is run_validation: a validation run counted against the
// plan-run budget, its result as compact feedback.
func (r *run) validationTool(ctx context.Context) (string, error) {
	done, feedback := r.iterate(ctx)
	if done {
		return "Validation passed. Call finish with your summary.", nil
	}
	return feedback, nil
}

// iterate validates the model's work: done is set when it passes or a limit
// stops the job; feedback tells the model what remains.
func (r *run) iterate(ctx context.Context) (done bool, feedback string) {
	if !r.dirty && r.fedBack {
		// Nothing changed since the model was told what remains.
		r.needsReview("the model stopped without fixing what remains")
		return true, ""
	}
	if r.dirty {
		if err := r.budget.StartPlanRun(); err != nil {
			r.limitReached(err)
			return true, err.Error()
		}
		r.res.Iterations++
		if _, err := r.validate(ctx, fmt.Sprintf("iteration %d", r.res.Iterations)); err != nil {
			if r.limitReached(r.budget.Check()) || r.limitReached(r.deadline(ctx)) {
				return true, ""
			}
			r.needsReview("validation could not run: " + brief.Sanitize(err.Error(), 300))
			return true, ""
		}
	}
	v := r.judge(r.latest)
	if v.ok(r.opts.Config.Agent.AllowDestroy) {
		return true, ""
	}
	var remaining, fresh, gate []string
	for _, f := range v.remaining {
		remaining = append(remaining, brief.Line(f))
	}
	for _, f := range v.fresh {
		fresh = append(fresh, brief.Line(f))
	}
	fresh = append(fresh, v.stepErrors...)
	for _, c := range v.gate.Destroys {
		if !r.opts.Config.Agent.AllowDestroy {
			gate = append(gate, "adds a delete or replace: "+c.String())
		}
	}
	for _, c := range v.gate.OutOfScope {
		gate = append(gate, "changes a resource the task is not about: "+c.String())
	}
	max := r.budget.Limits().PlanRuns
	r.fedBack = true
	fb := brief.Feedback(r.res.Iterations, max, remaining, fresh, gate, brief.Status(r.latest))
	if r.budget.Remaining() <= 0 {
		r.needsReview(fmt.Sprintf("validation still fails after %d iteration(s)", r.res.Iterations))
		r.limitReached(&budget.Exceeded{Limit: budget.PlanRuns, Used: int64(r.res.Iterations), Max: int64(max)})
		return true, fb
	}
	return false, fb
}

// deadline returns the timeout limit when the job's context ran out of
// time: the call that was cut short counts as the limit reached.
func (r *run) deadline(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		lim := r.budget.Limits().Timeout
		return &budget.Exceeded{Limit: budget.Timeout, Used: int64(lim), Max: int64(lim)}
	}
	return nil
}

func clipName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
