// Package budget enforces an agent job's limits in code: model turns, tokens,
// tool calls, wall-clock time and validation runs. A limit that is reached
// stops the job gracefully (the caller keeps the partial work and names the
// limit); crossing WarnAt of a limit is reported once, as a warning.
package budget

import (
	"fmt"
	"sync"
	"time"

	"github.com/infra-agent/infra-agent/config"
)

// Limit names, as results and audit events give them.
const (
	Turns     = "turns"
	Tokens    = "tokens"
	ToolCalls = "tool_calls"
	Timeout   = "timeout"
	PlanRuns  = "plan_runs"
)

// WarnAt is the share of a limit whose crossing is warned about.
const WarnAt = 0.8

// Exceeded is the error of a limit that is reached.
type Exceeded struct {
	Limit string
	Used  int64
	Max   int64
}

func (e *Exceeded) Error() string {
	if e.Limit == Timeout {
		return fmt.Sprintf("budget reached: timeout of %s", time.Duration(e.Max))
	}
	return fmt.Sprintf("budget reached: %s %d of %d", e.Limit, e.Used, e.Max)
}

// Usage is what a job has used so far.
type Usage struct {
	Turns     int           `json:"turns"`
	Tokens    int           `json:"tokens"`
	ToolCalls int           `json:"tool_calls"`
	PlanRuns  int           `json:"plan_runs"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// Tracker counts a job's use against its limits. It is safe for concurrent
// use.
type Tracker struct {
	limits config.Limits
	start  time.Time
	now    func() time.Time
	warn   func(limit string, used, max int64)

	mu     sync.Mutex
	used   Usage
	warned map[string]bool
}

// New starts tracking limits now. warn, when set, is called once per limit
// whose use crosses WarnAt.
func New(limits config.Limits, now func() time.Time, warn func(limit string, used, max int64)) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{limits: limits, start: now(), now: now, warn: warn, warned: map[string]bool{}}
}

// Limits returns the limits tracked.
func (t *Tracker) Limits() config.Limits { return t.limits }

// Deadline is when the timeout is reached.
func (t *Tracker) Deadline() time.Time { return t.start.Add(t.limits.Timeout) }

// Used returns the use so far.
func (t *Tracker) Used() Usage {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.used
	u.Elapsed = t.now().Sub(t.start)
	return u
}

// check returns the first limit reached, in the order a reader expects.
func (t *Tracker) check() error {
	if el := t.now().Sub(t.start); el >= t.limits.Timeout {
		return &Exceeded{Limit: Timeout, Used: int64(el), Max: int64(t.limits.Timeout)}
	}
	if t.used.Tokens >= t.limits.Tokens {
		return &Exceeded{Limit: Tokens, Used: int64(t.used.Tokens), Max: int64(t.limits.Tokens)}
	}
	return nil
}

// StartTurn counts a model turn, or returns the limit that forbids it.
func (t *Tracker) StartTurn() error {
	return t.use(Turns, &t.used.Turns, t.limits.Turns)
}

// AddTokens counts the tokens a model call used.
func (t *Tracker) AddTokens(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.used.Tokens += n
	t.crossed(Tokens, int64(t.used.Tokens), int64(t.limits.Tokens))
}

// StartToolCall counts a tool call, or returns the limit that forbids it.
func (t *Tracker) StartToolCall() error {
	return t.use(ToolCalls, &t.used.ToolCalls, t.limits.ToolCalls)
}

// StartPlanRun counts a validation run the agent's work causes, or returns
// the limit that forbids it.
func (t *Tracker) StartPlanRun() error {
	return t.use(PlanRuns, &t.used.PlanRuns, t.limits.PlanRuns)
}

// use counts one more use of a counted limit, unless it, the timeout or
// the token budget is reached.
func (t *Tracker) use(limit string, used *int, max int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.check(); err != nil {
		return err
	}
	if *used >= max {
		return &Exceeded{Limit: limit, Used: int64(*used), Max: int64(max)}
	}
	*used++
	t.crossed(limit, int64(*used), int64(max))
	return nil
}

// Remaining returns how many more plan runs are allowed.
func (t *Tracker) Remaining() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.limits.PlanRuns - t.used.PlanRuns
}

// Check returns the time or token limit if one is reached.
func (t *Tracker) Check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.check()
}

func (t *Tracker) crossed(limit string, used, max int64) {
	if t.warn == nil || t.warned[limit] || max <= 0 || float64(used) < WarnAt*float64(max) {
		return
	}
	t.warned[limit] = true
	t.warn(limit, used, max)
}
