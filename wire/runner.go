package wire

import (
	"fmt"
	"net/url"
	"time"
)

// APIVersion is the version of the runner API's messages. Every message
// carries it; the server refuses a message of another version with 400, so a
// runner and a server that disagree on the contract stop at once instead of
// misreading each other.
const APIVersion = 1

// The runner API, under the server's public URL. Each route takes the job id;
// the model proxy forwards everything under ModelRoute to the provider.
const (
	RoutePrefix    = "/api/v1/jobs/"
	ClaimRoute     = "claim"
	HeartbeatRoute = "heartbeat"
	CompleteRoute  = "complete"
	ModelRoute     = "model"
)

// JobURL returns the URL of route for job id under the server's base URL.
func JobURL(base, id, route string) string {
	return trimSlash(base) + RoutePrefix + url.PathEscape(id) + "/" + route
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// SessionPrefix starts every session secret, so it is recognisable in a
// header and by secret scanners.
const SessionPrefix = "iasess_"

// HeartbeatEvery is how often a runner sends a heartbeat. The server treats a
// running job as stale after MissedHeartbeats intervals without one.
const (
	HeartbeatEvery   = 30 * time.Second
	MissedHeartbeats = 3
)

// Deadlines of each job kind: static analysis (plan) gets 5 minutes, agent
// work 30, by default; the repository configuration may change them up to the
// ceiling. The runner stops at the deadline and completes the job timed_out,
// before the workflow's own timeout-minutes would kill it without a word.
const (
	StaticDeadline  = 5 * time.Minute
	AgentDeadline   = 30 * time.Minute
	DeadlineCeiling = 60 * time.Minute
	MinDeadline     = time.Minute
)

// DefaultDeadline returns the hard deadline of a job of kind k.
func (k Kind) DefaultDeadline() time.Duration {
	if k == KindPlan {
		return StaticDeadline
	}
	return AgentDeadline
}

// Repository names the repository a job works on.
type Repository struct {
	ID            int64  `json:"id"`
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	DefaultBranch string `json:"default_branch"`
}

// FullName is "owner/name".
func (r Repository) FullName() string { return r.Owner + "/" + r.Name }

// Budgets bound a job. Seconds, so the JSON is plain numbers.
type Budgets struct {
	// DeadlineSeconds is the job's hard deadline from the claim.
	DeadlineSeconds int `json:"deadline_seconds"`
	// ModelTokens is the model tokens (input and output) the job may spend
	// through the server's model proxy; 0 means no model access.
	ModelTokens int `json:"model_tokens"`
	MaxTurns    int `json:"max_turns"`
	MaxPlanRuns int `json:"max_plan_runs"`
}

// Deadline returns DeadlineSeconds as a duration.
func (b Budgets) Deadline() time.Duration { return time.Duration(b.DeadlineSeconds) * time.Second }

// JobSpec is everything a runner needs to know about its job. The server
// builds it from the job row and the repository configuration read from the
// default branch; the runner trusts it because it came over the claim.
type JobSpec struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Tier Tier   `json:"tier"`

	InstallationID int64      `json:"installation_id"`
	Repository     Repository `json:"repository"`
	// Number is the pull request or issue number; PullRequest says which.
	Number      int  `json:"number"`
	PullRequest bool `json:"pull_request"`
	// HeadSHA is the commit the job works on: the pull request's head, or the
	// default branch's head for an issue.
	HeadSHA string `json:"head_sha"`
	HeadRef string `json:"head_ref,omitempty"`
	BaseRef string `json:"base_ref,omitempty"`
	// Fork marks a pull request from another repository: static checks only.
	Fork bool `json:"fork"`

	Actor         string `json:"actor"`
	TriggerSource string `json:"trigger_source"`
	// TriggerID is the id of what triggered the job: the comment (issue or
	// review comment), check run, check suite, issue or pull request.
	TriggerID int64 `json:"trigger_id,omitempty"`
	// Instructions are untrusted text (the words after `/agent fix`, an issue
	// body): data for the model, never commands.
	Instructions string    `json:"instructions,omitempty"`
	TriggeredAt  time.Time `json:"triggered_at"`

	// CheckRunID is the job's own check run (named Kind.CheckRunName()).
	CheckRunID int64 `json:"check_run_id"`
	RunID      int64 `json:"run_id"`
	RunAttempt int64 `json:"run_attempt"`

	// Config is the repository configuration in force, as YAML, read from the
	// default branch (ConfigSource says where; empty: the defaults).
	Config       string  `json:"config"`
	ConfigSource string  `json:"config_source,omitempty"`
	Budgets      Budgets `json:"budgets"`

	// GitHubAPIURL is the REST API the token works against (GitHub
	// Enterprise Server: https://HOST/api/v3/).
	GitHubAPIURL string `json:"github_api_url"`
	// GitHubGraphQLURL is GitHub's GraphQL API (GitHub Enterprise Server:
	// https://HOST/api/graphql): a review hides the App's earlier comments
	// through it.
	GitHubGraphQLURL string `json:"github_graphql_url,omitempty"`
	// AppSlug is the App's slug; its bot user, "<slug>[bot]", writes the
	// App's reviews and comments, and only those are read as its own.
	AppSlug string `json:"app_slug,omitempty"`
	// Model is the server's model proxy; nil when the server has none.
	Model *ModelAccess `json:"model,omitempty"`
}

// ModelAccess is how a runner reaches a model through the server, which
// holds the provider's key: the official SDK of Provider pointed at BaseURL,
// with the job's session secret as its API key (Anthropic: X-Api-Key;
// OpenAI-compatible: Authorization: Bearer).
type ModelAccess struct {
	Provider string `json:"provider"` // anthropic | openai
	BaseURL  string `json:"base_url"`
}

// Model providers the proxy speaks, and the one path of each it forwards
// (below BaseURL, as the official SDKs append them).
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
	AnthropicMessages = "v1/messages"
	OpenAIChat        = "chat/completions"
)

// Token is the installation token a claim hands out: one repository, the
// kind's permissions, an hour at most. It lives in the runner's memory only.
type Token struct {
	Value         string            `json:"token"`
	ExpiresAt     time.Time         `json:"expires_at"`
	Permissions   map[string]string `json:"permissions"`
	RepositoryIDs []int64           `json:"repository_ids"`
}

// String never prints the token's value.
func (t Token) String() string {
	return fmt.Sprintf("token(%d repositories, expires %s)", len(t.RepositoryIDs), t.ExpiresAt)
}

// GoString never prints the token's value, even with %#v.
func (t Token) GoString() string { return t.String() }

// ClaimRequest is the body of POST …/claim; the identity is the bearer
// Actions OIDC token.
type ClaimRequest struct {
	Version int `json:"version"`
}

// ClaimResponse answers a successful claim.
type ClaimResponse struct {
	Version int     `json:"version"`
	Job     JobSpec `json:"job"`
	Token   Token   `json:"github_token"`
	// Session authenticates the job's later calls (heartbeat, complete, the
	// model proxy) as "Authorization: Bearer <session>"; it dies when the
	// job ends. The server keeps only its hash.
	Session string `json:"session"`
	// HeartbeatSeconds is how often the server expects a heartbeat.
	HeartbeatSeconds int `json:"heartbeat_seconds"`
}

// APICall is one GitHub API call a runner made with the job's token, for the
// job's audit trail: method and path, never the query or the body.
type APICall struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// Heartbeat is the body of POST …/heartbeat.
type Heartbeat struct {
	Version int `json:"version"`
	// Progress is one short line on what the runner is doing; the server shows
	// it on the job's check run, at most once a minute.
	Progress string    `json:"progress,omitempty"`
	Calls    []APICall `json:"calls,omitempty"`
}

// HeartbeatResponse answers a heartbeat. Stop tells the runner the job ended
// on the server (cancelled, superseded, timed out): it stops its work.
type HeartbeatResponse struct {
	Version int    `json:"version"`
	State   string `json:"state"`
	Stop    bool   `json:"stop"`
}

// Status is how a job ended, as the runner reports it.
type Status string

// Job outcomes. A job that ran to its end succeeded, whatever its findings:
// the check runs carry those.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusTimedOut  Status = "timed_out"
)

// Valid reports whether s is one of the outcomes.
func (s Status) Valid() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCancelled, StatusTimedOut:
		return true
	}
	return false
}

// ValidConclusion reports whether c is a check-run conclusion a runner may
// report.
func ValidConclusion(c string) bool {
	switch c {
	case "success", "failure", "neutral", "cancelled", "timed_out", "action_required", "skipped":
		return true
	}
	return false
}

// PlanCounts are a root's planned changes.
type PlanCounts struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Delete  int `json:"delete"`
	Replace int `json:"replace"`
}

// RootResult is one root module's outcome.
type RootResult struct {
	Dir      string      `json:"dir"`
	Failed   bool        `json:"failed"`
	Plan     *PlanCounts `json:"plan,omitempty"`
	Failures int         `json:"failures"`
	Warnings int         `json:"warnings"`
}

// PublishedCheck is a check run the runner created or completed.
type PublishedCheck struct {
	Name       string `json:"name"`
	ID         int64  `json:"id"`
	Conclusion string `json:"conclusion"`
}

// Complete is the body of POST …/complete.
type Complete struct {
	Version int    `json:"version"`
	Status  Status `json:"status"`
	// Conclusion, Title and Summary are for the job's own check run. When
	// Published already lists that run as concluded (a plan job's
	// infra-agent/plan), the server leaves it as the runner wrote it.
	Conclusion string           `json:"conclusion"`
	Title      string           `json:"title"`
	Summary    string           `json:"summary"`
	Roots      []RootResult     `json:"roots,omitempty"`
	Published  []PublishedCheck `json:"published,omitempty"`
	// Warnings are shown on the job's check run (static cloud keys, ...).
	Warnings []string  `json:"warnings,omitempty"`
	Calls    []APICall `json:"calls,omitempty"`
}

// CompleteResponse answers a complete. TokenRevoked says whether the server
// revoked the job's token; when false the runner revokes it itself.
type CompleteResponse struct {
	Version      int    `json:"version"`
	State        string `json:"state"`
	TokenRevoked bool   `json:"token_revoked"`
}

// ErrorBody is the body of every refusal of the runner API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says why a request was refused. Type is stable
// (unauthenticated, forbidden, not_found, conflict, invalid_request,
// unavailable); Message is for humans. State is the job's state when it
// matters (a job that ended).
type ErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	State   string `json:"state,omitempty"`
}
