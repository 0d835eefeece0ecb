package handlers

// Log keys the handlers add to the context logger. The delivery id, event
// type, installation, repository and pull request number use go-githubapp's
// LogKey* constants, set by the dispatcher and githubapp.PrepareRepoContext.
const (
	LogKeyAction     = "github_event_action"
	LogKeySender     = "github_sender"
	LogKeyCommentID  = "github_comment_id"
	LogKeyCheckName  = "github_check_name"
	LogKeyCheckID    = "github_check_id"
	LogKeyRunID      = "github_run_id"
	LogKeyConclusion = "github_conclusion"
	LogKeyAccount    = "github_account"
	LogKeyRepos      = "github_repositories"
	LogKeyCommand    = "command"
	LogKeyTaskAction = "task_action"
	LogKeyTaskKind   = "task_kind"
	LogKeyReason     = "reason"
)
