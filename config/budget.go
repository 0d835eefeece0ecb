package config

import (
	"fmt"
	"time"

	"github.com/infra-agent/infra-agent/wire"
)

// Budget is what a repository sets for the agent's limits on one job kind
// (agent.budgets.<kind>). A zero field keeps the kind's default; PlanRuns is
// a pointer because zero plan runs is a setting of its own.
type Budget struct {
	Turns     int           `yaml:"turns"`
	Tokens    int           `yaml:"tokens"`
	ToolCalls int           `yaml:"tool_calls"`
	Timeout   time.Duration `yaml:"timeout"`
	PlanRuns  *int          `yaml:"plan_runs"`
}

// BudgetsConfig holds the per-kind budgets of agent.budgets.
type BudgetsConfig struct {
	Fix       Budget `yaml:"fix"`
	Review    Budget `yaml:"review"`
	Remediate Budget `yaml:"remediate"`
}

// Limits are the effective limits of one agent job, enforced in code: model
// turns, tokens sent and received, tool calls, wall-clock time, and
// validation runs (terraform plan) the agent's work causes.
type Limits struct {
	Turns     int           `json:"turns"`
	Tokens    int           `json:"tokens"`
	ToolCalls int           `json:"tool_calls"`
	Timeout   time.Duration `json:"timeout_ns"`
	PlanRuns  int           `json:"plan_runs"`
}

// DefaultLimits returns the guide's defaults for a job kind: fix is
// single-finding remediation, review is PR review, remediate is drift
// detection and fix. Other kinds (plan) get review's, the most restrictive.
func DefaultLimits(kind wire.Kind) Limits {
	switch kind {
	case wire.KindFix:
		return Limits{Turns: 30, Tokens: 200_000, ToolCalls: 100, Timeout: 15 * time.Minute, PlanRuns: 5}
	case wire.KindRemediate:
		return Limits{Turns: 50, Tokens: 500_000, ToolCalls: 200, Timeout: 30 * time.Minute, PlanRuns: 10}
	}
	return Limits{Turns: 20, Tokens: 200_000, ToolCalls: 50, Timeout: 10 * time.Minute, PlanRuns: 0}
}

// CeilingLimits are the most a repository may set, whatever the kind.
func CeilingLimits() Limits {
	return Limits{Turns: 200, Tokens: 2_000_000, ToolCalls: 1000, Timeout: 6 * time.Hour, PlanRuns: 50}
}

// Limits returns the effective limits of a job kind: the kind's defaults;
// then the original agent.max_turns, max_tokens, max_plan_runs and timeout
// keys, for every kind, when they are set to something else than their
// defaults (which are fix's); then agent.budgets.<kind>.
func (a AgentConfig) Limits(kind wire.Kind) Limits {
	l := DefaultLimits(kind)
	def := DefaultRepoConfig().Agent
	if a.MaxTurns != def.MaxTurns {
		l.Turns = a.MaxTurns
	}
	if a.MaxTokens != def.MaxTokens {
		l.Tokens = a.MaxTokens
	}
	if a.MaxPlanRuns != def.MaxPlanRuns {
		l.PlanRuns = a.MaxPlanRuns
	}
	if a.Timeout != def.Timeout {
		l.Timeout = a.Timeout
	}
	var b Budget
	switch kind {
	case wire.KindFix:
		b = a.Budgets.Fix
	case wire.KindReview:
		b = a.Budgets.Review
	case wire.KindRemediate:
		b = a.Budgets.Remediate
	}
	if b.Turns > 0 {
		l.Turns = b.Turns
	}
	if b.Tokens > 0 {
		l.Tokens = b.Tokens
	}
	if b.ToolCalls > 0 {
		l.ToolCalls = b.ToolCalls
	}
	if b.Timeout > 0 {
		l.Timeout = b.Timeout
	}
	if b.PlanRuns != nil {
		l.PlanRuns = *b.PlanRuns
	}
	return l
}

// validate checks one kind's budget against the ceilings; key is where it
// is in the file.
func (b Budget) validate(kind string) error {
	c := CeilingLimits()
	key := func(name string) []string { return []string{"agent", "budgets", kind, name} }
	bad := func(name, format string, a ...any) error {
		return &ConfigError{File: RepoConfigPath, Msg: fmt.Sprintf("agent.budgets.%s.%s ", kind, name) + fmt.Sprintf(format, a...), key: key(name)}
	}
	switch {
	case b.Turns < 0 || b.Turns > c.Turns:
		return bad("turns", "must be between 1 and %d, got %d", c.Turns, b.Turns)
	case b.Tokens < 0 || b.Tokens > c.Tokens || (b.Tokens > 0 && b.Tokens < 1000):
		return bad("tokens", "must be between 1000 and %d, got %d", c.Tokens, b.Tokens)
	case b.ToolCalls < 0 || b.ToolCalls > c.ToolCalls:
		return bad("tool_calls", "must be between 1 and %d, got %d", c.ToolCalls, b.ToolCalls)
	case b.Timeout < 0 || b.Timeout > c.Timeout || (b.Timeout > 0 && b.Timeout < time.Minute):
		return bad("timeout", "must be between 1m and %s, got %s", c.Timeout, b.Timeout)
	case b.PlanRuns != nil && (*b.PlanRuns < 0 || *b.PlanRuns > c.PlanRuns):
		return bad("plan_runs", "must be between 0 and %d, got %d", c.PlanRuns, *b.PlanRuns)
	}
	return nil
}

// validate checks the agent's settings but its path globs: the provider,
// the original limits (which apply to every kind when changed), the diff
// bound and each kind's budget.
func (a AgentConfig) validate() error {
	bad := func(name, format string, args ...any) error {
		return &ConfigError{File: RepoConfigPath, Msg: fmt.Sprintf(format, args...), key: []string{"agent", name}}
	}
	switch {
	case a.Provider != "anthropic" && a.Provider != "openai":
		return bad("provider", "agent.provider must be anthropic or openai, got %q", a.Provider)
	case a.MaxTurns < 1 || a.MaxTurns > 200:
		return bad("max_turns", "agent.max_turns must be between 1 and 200, got %d", a.MaxTurns)
	case a.MaxTokens < 1000:
		return bad("max_tokens", "agent.max_tokens must be at least 1000, got %d", a.MaxTokens)
	case a.MaxPlanRuns < 0 || a.MaxPlanRuns > 50:
		return bad("max_plan_runs", "agent.max_plan_runs must be between 0 and 50, got %d", a.MaxPlanRuns)
	case a.Timeout < time.Minute || a.Timeout > 6*time.Hour:
		return bad("timeout", "agent.timeout must be between 1m and 6h, got %s", a.Timeout)
	case a.MaxDiffLines < 1 || a.MaxDiffLines > 10000:
		return bad("max_diff_lines", "agent.max_diff_lines must be between 1 and 10000, got %d", a.MaxDiffLines)
	}
	for i, b := range []Budget{a.Budgets.Fix, a.Budgets.Review, a.Budgets.Remediate} {
		if err := b.validate([]string{"fix", "review", "remediate"}[i]); err != nil {
			return err
		}
	}
	return nil
}
