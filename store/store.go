// Package store persists webhook deliveries, installations and jobs. It has two
// drivers behind one interface and one migration set: SQLite (pure Go, the
// default) and PostgreSQL.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/infra-agent/infra-agent/wire"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a conditional update finds the row in another
// state than expected (another replica or the watchdog got there first).
var ErrConflict = errors.New("conflict")

// DeliveryStatus is where a webhook delivery is in its processing.
type DeliveryStatus string

// Delivery statuses. A pending delivery is processed after a restart.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryProcessed DeliveryStatus = "processed"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Delivery is one webhook delivery as GitHub sent it, recorded before it is
// acknowledged.
type Delivery struct {
	ID         string // X-GitHub-Delivery
	Event      string // X-GitHub-Event
	Payload    []byte
	ReceivedAt time.Time
	Status     DeliveryStatus
	Attempts   int
	Error      string
	// LastAttemptAt is when the last failed attempt ended (zero before any).
	LastAttemptAt time.Time
}

// Installation is a GitHub App installation as last reported by GitHub.
type Installation struct {
	ID        int64
	Account   string
	Action    string // the last installation/installation_repositories action seen
	Repos     []string
	UpdatedAt time.Time
}

// JobState is the lifecycle state of a job.
type JobState string

// Job states. Queued, dispatched and running are active; the rest are terminal.
const (
	JobQueued     JobState = "queued"     // row and check run created, dispatch pending or retrying
	JobDispatched JobState = "dispatched" // workflow_dispatch accepted by GitHub
	JobRunning    JobState = "running"    // claimed by a runner
	JobSucceeded  JobState = "succeeded"
	JobFailed     JobState = "failed"
	JobCancelled  JobState = "cancelled"
	JobSuperseded JobState = "superseded"
	JobTimedOut   JobState = "timed_out"
)

// ActiveStates are the states in which a job still holds its (repo, number) slot.
var ActiveStates = []JobState{JobQueued, JobDispatched, JobRunning}

// Active reports whether s is an active state.
func (s JobState) Active() bool {
	for _, a := range ActiveStates {
		if s == a {
			return true
		}
	}
	return false
}

// Job is one unit of agent work: one task that passed the policy decision.
type Job struct {
	ID             string
	TriggerKey     string // unique: the same trigger never creates two jobs
	DeliveryID     string
	InstallationID int64
	RepoID         int64
	Owner          string
	Repo           string
	Number         int // pull request or issue number
	Kind           wire.Kind
	State          JobState

	HeadSHA       string
	HeadRef       string
	BaseRef       string
	DefaultBranch string
	Fork          bool

	Actor         string
	TriggerSource string // issue_comment, issues, pull_request, check_run, check_suite
	TriggerID     int64  // comment id, check run id, ...
	Instructions  string
	Workflow      string

	CheckRunID int64
	// CheckRunDone reports that the check run has been concluded on GitHub.
	CheckRunDone     bool
	DispatchAttempts int
	RunID            int64
	SupersededBy     string
	Detail           string // the latest human explanation (reason for failure, ...)

	CreatedAt   time.Time
	UpdatedAt   time.Time
	HeartbeatAt time.Time
	// TriggeredAt is when the trigger happened (a comment's created_at, ...):
	// the runner ignores comments created or edited after it, so text added
	// once the job was asked for never becomes its context.
	TriggeredAt time.Time
}

// JobUpdate sets the non-nil fields of a job.
type JobUpdate struct {
	State            *JobState
	CheckRunID       *int64
	DispatchAttempts *int
	RunID            *int64
	Detail           *string
	HeartbeatAt      *time.Time
	CheckRunDone     *bool
}

// JobFilter selects jobs. Zero fields do not filter.
type JobFilter struct {
	States         []JobState
	Kind           wire.Kind
	InstallationID int64
	Owner          string
	Repo           string
	Number         int
	TriggerSource  string
	// CheckRunOpen selects jobs with a check run not yet concluded on GitHub.
	CheckRunOpen  bool
	UpdatedBefore time.Time
	// UpdatedAgo selects jobs last updated at least this long ago by the
	// database's own clock, whatever the caller's clock says.
	UpdatedAgo time.Duration
	Limit      int
}

// Store is everything the server persists.
type Store interface {
	RunStore

	// InsertDeliveries records deliveries durably (committed before it returns)
	// and reports, per delivery, whether it was new. A known id is not an error.
	InsertDeliveries(ctx context.Context, ds []Delivery) ([]bool, error)
	// PendingDeliveries returns up to limit pending deliveries, oldest first.
	PendingDeliveries(ctx context.Context, limit int) ([]Delivery, error)
	// KnownDeliveries reports which of ids are recorded, whatever their status.
	KnownDeliveries(ctx context.Context, ids []string) (map[string]bool, error)
	// FinishDelivery records the end of an attempt: processed, failed for good,
	// or pending again (the attempt failed and will be retried).
	FinishDelivery(ctx context.Context, id string, status DeliveryStatus, errText string) error

	// UpsertInstallation records an installation event.
	UpsertInstallation(ctx context.Context, in Installation) error
	// GetInstallation returns an installation by id.
	GetInstallation(ctx context.Context, id int64) (Installation, error)

	// CreateJob inserts j unless a job with the same TriggerKey exists, in which
	// case it returns that job and created=false. In the same transaction it
	// marks every active job of the same (installation, owner, repo, number)
	// superseded by j and returns them, so there is at most one active job per
	// pull request or issue.
	CreateJob(ctx context.Context, j Job) (job Job, superseded []Job, created bool, err error)
	// GetJob returns a job by id.
	GetJob(ctx context.Context, id string) (Job, error)
	// UpdateJob applies u if the job is in one of the from states (any state when
	// from is empty) and returns the updated job, or ErrConflict.
	UpdateJob(ctx context.Context, id string, from []JobState, u JobUpdate) (Job, error)
	// ListJobs returns the jobs matching f, oldest first.
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	// CountJobs counts the jobs matching f.
	CountJobs(ctx context.Context, f JobFilter) (int, error)

	// Ping checks that the database answers (health checks).
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}
