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

// ErrLimitReached is returned by CreateJob when a JobLimit would be exceeded.
var ErrLimitReached = errors.New("limit reached")

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
	// NextAttemptAt is when a failed attempt may be tried again (zero: now).
	NextAttemptAt time.Time
	// LeaseOwner is the replica that runs the delivery until LeaseUntil; an
	// expired lease lets another replica claim it.
	LeaseOwner string
	LeaseUntil time.Time
}

// Reply is a comment the server posts once, whatever retries happen: Key
// names it, PostedAt is zero until GitHub confirmed it.
type Reply struct {
	Key       string
	RepoID    int64
	Number    int
	CommentID int64
	CreatedAt time.Time
	PostedAt  time.Time
}

// Pruned counts what one Prune removed.
type Pruned struct {
	Deliveries, Jobs, Replies int
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
	OwnerID        int64 // the repository owner's id; 0 for jobs created before it was recorded
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
	// CancelledBy is the trigger key of the `/agent cancel` that cancelled it.
	CancelledBy string
	Detail      string // the latest human explanation (reason for failure, ...)
	// StepOwner takes the job through its steps until StepUntil (see ClaimJob).
	StepOwner string
	StepUntil time.Time

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
	CancelledBy      *string
}

// JobLimit caps the jobs of one pull request or issue that CreateJob may
// create: at most Max jobs of Kind whose trigger source is one of Sources. It
// is checked in the transaction that creates the job.
type JobLimit struct {
	Kind    wire.Kind
	Sources []string
	Max     int
}

// JobFilter selects jobs. Zero fields do not filter.
type JobFilter struct {
	States         []JobState
	Kind           wire.Kind
	InstallationID int64
	RepoID         int64
	Owner          string
	Repo           string
	Number         int
	TriggerSource  string
	SupersededBy   string
	CancelledBy    string
	// CheckRunOpen selects jobs with a check run not yet concluded on GitHub.
	CheckRunOpen bool
	// CheckRunPending selects jobs whose check run is not concluded, whether
	// or not one is recorded.
	CheckRunPending bool
	UpdatedBefore   time.Time
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
	// ClaimDeliveries leases to owner, until the given time, up to limit
	// pending deliveries that are due (no failed attempt waiting for its next
	// try) and that no other replica holds, oldest first. Two replicas never
	// claim the same delivery.
	ClaimDeliveries(ctx context.Context, owner string, until time.Time, limit int) ([]Delivery, error)
	// RenewLeases extends owner's leases on its pending deliveries.
	RenewLeases(ctx context.Context, owner string, until time.Time) error
	// HandledDeliveries reports which of ids are recorded and not failed for
	// good (a failed one is run again when GitHub redelivers it).
	HandledDeliveries(ctx context.Context, ids []string) (map[string]bool, error)
	// FinishDelivery records the end of an attempt: processed, failed for good,
	// or pending again (the attempt failed and will be retried at once). The
	// lease is released.
	FinishDelivery(ctx context.Context, id string, status DeliveryStatus, errText string) error
	// RetryDelivery records a failed attempt that is to be tried again from at,
	// by whichever replica claims it then. The lease is released.
	RetryDelivery(ctx context.Context, id, errText string, at time.Time) error

	// UpsertInstallation records an installation event.
	UpsertInstallation(ctx context.Context, in Installation) error
	// GetInstallation returns an installation by id.
	GetInstallation(ctx context.Context, id int64) (Installation, error)

	// CreateJob inserts j unless a job with the same TriggerKey exists, in which
	// case it returns that job and created=false. In the same transaction it
	// marks every active job of the same (repository id, number) superseded by
	// j and returns them, so there is at most one active job per pull request
	// or issue. A limit that j would exceed makes it return ErrLimitReached.
	CreateJob(ctx context.Context, j Job, limit *JobLimit) (job Job, superseded []Job, created bool, err error)
	// GetJob returns a job by id.
	GetJob(ctx context.Context, id string) (Job, error)
	// ClaimJob makes owner the one taking the job through its steps until the
	// given time, unless another owner's claim has not expired (ErrConflict).
	ClaimJob(ctx context.Context, id, owner string, until time.Time) (Job, error)
	// ReleaseJob ends owner's claim on the job.
	ReleaseJob(ctx context.Context, id, owner string) error
	// UpdateJob applies u if the job is in one of the from states (any state when
	// from is empty) and returns the updated job, or ErrConflict.
	UpdateJob(ctx context.Context, id string, from []JobState, u JobUpdate) (Job, error)
	// ListJobs returns the jobs matching f, oldest first.
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	// CountJobs counts the jobs matching f.
	CountJobs(ctx context.Context, f JobFilter) (int, error)

	// BeginReply records that the reply r.Key is about to be posted, unless it
	// was already, and returns the stored reply and whether this call recorded
	// it. PostedAt set means it was posted; an existing record without it
	// means an earlier attempt may have posted it without knowing.
	BeginReply(ctx context.Context, r Reply) (Reply, bool, error)
	// FinishReply records that the reply key was posted as comment commentID.
	FinishReply(ctx context.Context, key string, commentID int64) error

	// AcquireLease takes or renews the lease name for owner until the given
	// time, and reports whether owner holds it: false while another owner's
	// lease has not expired.
	AcquireLease(ctx context.Context, name, owner string, until time.Time) (bool, error)
	// ReleaseLease gives up owner's lease name, so another owner can take it at
	// once.
	ReleaseLease(ctx context.Context, name, owner string) error

	// Prune deletes the deliveries received before deliveriesBefore that are
	// no longer pending, and the ended jobs and replies last changed before
	// jobsBefore, and gives the space back to the file system where the
	// database keeps it (SQLite).
	Prune(ctx context.Context, deliveriesBefore, jobsBefore time.Time) (Pruned, error)

	// Ping checks that the database answers (health checks).
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}
