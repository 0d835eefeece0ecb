// Package wire is the contract shared by the server and the runner: job kinds,
// their tiers and token scopes, the stable check-run names, and the job spec the
// broker hands to a runner. It imports nothing from either side.
package wire

import (
	"fmt"
	"sort"
)

// Kind is the kind of an agent job.
type Kind string

// The job kinds. Their names appear in check-run names, logs and the store.
const (
	KindPlan      Kind = "plan"
	KindReview    Kind = "review"
	KindFix       Kind = "fix"
	KindRemediate Kind = "remediate"
)

// Kinds lists every job kind, in tier order.
var Kinds = []Kind{KindPlan, KindReview, KindFix, KindRemediate}

// ParseKind returns the Kind named s, or an error for an unknown name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown job kind %q", s)
}

// Tier is the autonomy tier a job runs at.
type Tier int

// The tiers infra-agent uses. Tiers 3 and 4 (sandbox execute, autonomous apply)
// do not exist in this product: agents never deploy.
const (
	TierObserve   Tier = 0
	TierRecommend Tier = 1
	TierDraft     Tier = 2
)

// String returns the tier's number and name, e.g. "2 draft".
func (t Tier) String() string {
	switch t {
	case TierObserve:
		return "0 observe"
	case TierRecommend:
		return "1 recommend"
	case TierDraft:
		return "2 draft"
	}
	return fmt.Sprintf("%d unknown", int(t))
}

// Tier returns the tier a job of kind k runs at.
func (k Kind) Tier() Tier {
	switch k {
	case KindPlan:
		return TierObserve
	case KindReview:
		return TierRecommend
	default:
		return TierDraft
	}
}

// Writes reports whether jobs of kind k push commits.
func (k Kind) Writes() bool { return k.Tier() >= TierDraft }

// CheckRunName returns the stable check-run name of jobs of kind k.
func (k Kind) CheckRunName() string { return "infra-agent/" + string(k) }

// The check runs of the validation pipeline. Branch protection may require them,
// so these names never change.
const (
	CheckPlan   = "infra-agent/plan"
	CheckPolicy = "infra-agent/policy"
)

// IsOwnCheck reports whether name is a check run this App creates.
func IsOwnCheck(name string) bool {
	if name == CheckPlan || name == CheckPolicy {
		return true
	}
	for _, k := range Kinds {
		if name == k.CheckRunName() {
			return true
		}
	}
	return false
}

// Permission levels of a GitHub installation token.
const (
	Read  = "read"
	Write = "write"
)

// TokenPermissions returns the installation-token permissions the runner of a
// job of kind k gets. It never includes workflows, actions, administration or
// secrets.
func (k Kind) TokenPermissions() map[string]string {
	p := map[string]string{
		"contents":      Read,
		"checks":        Write,
		"pull_requests": Write,
	}
	switch k {
	case KindFix:
		p["contents"] = Write
	case KindRemediate:
		p["contents"] = Write
		p["issues"] = Write
	}
	return p
}

// JobTokenPermissions returns the permissions of the runner token of a job
// of kind k: the kind's, except for a fork's pull request, whose jobs never
// push (a fork's fix is offered as review suggestions) and so get the review
// kind's, without contents or issues write.
func JobTokenPermissions(k Kind, fork bool) map[string]string {
	if fork && k.Writes() {
		return KindReview.TokenPermissions()
	}
	return k.TokenPermissions()
}

// ForbiddenPermissions are never granted to a runner, whatever the kind.
var ForbiddenPermissions = []string{"workflows", "actions", "administration", "secrets"}

// SortedScopes renders permissions as "name:level" in a stable order, for logs
// and check-run text.
func SortedScopes(p map[string]string) []string {
	out := make([]string, 0, len(p))
	for name, level := range p {
		out = append(out, name+":"+level)
	}
	sort.Strings(out)
	return out
}

// WorkflowInput is the single input the agent workflow is dispatched with.
const WorkflowInput = "job_id"
