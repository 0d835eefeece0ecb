package runner

// Log keys of the runner. Every line carries the job id.
const (
	logKeyJobID       = "job_id"
	logKeyKind        = "kind"
	logKeyRepository  = "repository"
	logKeyNumber      = "number"
	logKeyHeadSHA     = "head_sha"
	logKeyPermissions = "permissions"
	logKeyExpires     = "token_expires_at"
	logKeyMethod      = "method"
	logKeyPath        = "path"
	logKeyStatus      = "status"
	logKeyRoute       = "route"
	logKeyAttempt     = "attempt"
	logKeyFiles       = "files"
	logKeyRef         = "ref"
	logKeyPaths       = "paths"
	logKeyConclusion  = "conclusion"
	logKeyCalls       = "github_calls"
	logKeyTook        = "took"
	logKeyReview      = "review_id"
	logKeyUnchanged   = "unchanged"
	logKeyHidden      = "hidden_comments"
	logKeyWait        = "wait"
	logKeyAudit       = "audit"
)
