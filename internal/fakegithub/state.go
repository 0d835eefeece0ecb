package fakegithub

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Repo is a repository to seed with AddRepo.
type Repo struct {
	ID             int64
	Owner, Name    string
	DefaultBranch  string // "main" when empty
	Private        bool
	InstallationID int64 // the installation whose tokens may access the repository
}

// PullRequest is a pull request to seed with AddPullRequest. Its number is also an issue number, as on GitHub.
type PullRequest struct {
	Number              int
	State               string // open (default) | closed
	Title, Body         string
	User                string
	HeadSHA, HeadRef    string
	HeadOwner, HeadRepo string // differ from the base repository for forks; empty means the base repository
	BaseRef             string // the repository's default branch when empty
	Files               []string
	Draft               bool
	// CreatedBy is the login that opened the pull request through the API ("" for seeded ones).
	CreatedBy string
}

// Issue is an issue to seed with AddIssue.
type Issue struct {
	Number      int
	State       string // open (default) | closed
	Title, Body string
	User        string
	Labels      []string
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// CheckRun is the current state of a check run: the last value of each field, and every annotation sent across
// all requests (GitHub accumulates them).
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	StartedAt   time.Time
	CompletedAt time.Time
	Output      CheckRunOutput
	Actions     []CheckRunAction
	// App is the slug of the App that made the check run; empty for this App.
	App string
}

// CheckRunOutput is a check run's output.
type CheckRunOutput struct {
	Title, Summary, Text string
	Annotations          []Annotation
}

// Annotation is a check-run annotation; zero columns mean absent.
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int
	AnnotationLevel        string
	Message, Title         string
	RawDetails             string
}

// CheckRunAction is a button offered by a check run.
type CheckRunAction struct {
	Label, Description, Identifier string
}

// Dispatch is a recorded workflow_dispatch.
type Dispatch struct {
	Workflow string // the workflow file name, for example "infra-agent.yml"
	Ref      string
	Inputs   map[string]any
	RunID    int64 // the workflow run the dispatch created (GET /repos/{owner}/{repo}/actions/runs/{run_id})
}

// Token is an installation access token minted by the fake.
type Token struct {
	InstallationID int64
	Token          string
	Permissions    map[string]string
	Repositories   []string // names the token is limited to; empty means every repository of the installation
	RepositoryIDs  []int64  // the repository_ids the request named, in order
	ExpiresAt      time.Time
	Revoked        bool
}

// Request is a request the fake received.
type Request struct {
	Method string
	Path   string // decoded
	Query  url.Values
	Header http.Header
	Body   []byte
	// Permissions are those GitHub documents for the operation an
	// installation token called ("checks:write", ...; one of them suffices);
	// nil for App-authenticated and unknown operations.
	Permissions []string
	// Status is the status the fake answered with; 304 Not Modified (a
	// conditional request that matched) does not count against the rate limit.
	Status int
}

// HookDelivery is a webhook delivery listed by GET /app/hook/deliveries.
type HookDelivery struct {
	ID             int64
	GUID           string
	Event, Action  string
	Status         string // "OK" when empty
	StatusCode     int    // 200 when zero
	Redelivery     bool
	DeliveredAt    time.Time
	InstallationID int64
	RepositoryID   int64
}

// defaultInstallationPermissions are the permissions an installation grants unless SetInstallationPermissions
// says otherwise: what the App asks for in its manifest.
func defaultInstallationPermissions() map[string]string {
	return map[string]string{
		"actions": "write", "checks": "write", "contents": "write", "issues": "write",
		"metadata": "read", "pull_requests": "write",
	}
}

// Id bases keep the ids of different kinds apart and deterministic.
const (
	checkRunIDBase = 4_000_000_000
	commentIDBase  = 1_000_000_000
	reactionIDBase = 2_000_000_000
	runIDBase      = 7_000_000_000
	workflowIDBase = 9_000_000
	deliveryIDBase = 30_000_000_000
	reviewIDBase   = 5_000_000_000
	// reviewCommentIDBase keeps review comment ids apart from issue comment ids.
	reviewCommentIDBase = 3_000_000_000
)

type state struct {
	expectViolations bool
	violations       []string
	requests         []Request
	failures         []*failure
	chaos            *chaos
	injected         []InjectedFault
	installations    map[int64]*installation
	repos            map[string]*repoState // key: lower-case "owner/name"
	tokens           []*Token
	rateUsed         map[string]int
	deliveries       []HookDelivery
	redeliveries     []int64
	lastID           map[int64]int64 // id base -> last id issued
	created          time.Time
}

func newState() *state {
	return &state{
		installations: map[int64]*installation{},
		repos:         map[string]*repoState{},
		rateUsed:      map[string]int{},
		lastID:        map[int64]int64{},
		created:       time.Now().UTC().Truncate(time.Second),
	}
}

// nextID issues the next deterministic id of a kind.
func (st *state) nextID(base int64) int64 {
	st.lastID[base]++
	return base + st.lastID[base]
}

type failure struct {
	method string
	path   *regexp.Regexp
	left   int
	status int
	header http.Header
	// afterApplying performs the operation before answering status.
	afterApplying bool
	kind          Fault // set for InjectFaults' choices
}

type installation struct {
	id          int64
	account     string
	permissions map[string]string
}

type repoState struct {
	Repo
	files      map[string]map[string][]byte // ref -> path -> content
	branches   map[string]string            // name -> head SHA
	tags       map[string]string            // name -> commit SHA
	protected  map[string]bool              // branch name -> branch protection on
	rulesets   []*Ruleset
	perms      map[string]string // lower-case login -> role
	pulls      map[int]*PullRequest
	issues     map[int]*Issue
	comments   []*issueComment
	checkRuns  []*CheckRun
	workflows  map[string]int64  // file name -> workflow id
	runNames   map[string]string // file name -> run-name template
	dispatches []Dispatch
	runs       map[int64]*workflowRun

	git         *gitState // created on first use
	forcePushes int
	// reviews and reviewComments are the pull requests' reviews and their comments (replies included), in order.
	reviews        []*PullReview
	reviewComments []*reviewComment
}

type issueComment struct {
	Comment
	number    int
	reactions []reaction
	created   time.Time
	updated   time.Time
	edits     int
}

type reaction struct {
	id      int64
	user    string
	content string
	created time.Time
}

type workflowRun struct {
	id                 int64
	workflowID         int64
	file               string
	ref, sha           string
	status, conclusion string
	runNumber          int
	created, updated   time.Time
	event              string // workflow_dispatch unless seeded otherwise
	displayTitle       string
	headOwner          string // the head repository (a fork's for pull_request runs); empty: this repository
	headRepo           string
}

func repoKey(owner, name string) string { return strings.ToLower(owner + "/" + name) }

// repo returns the seeded repository, or nil.
func (st *state) repo(owner, name string) *repoState { return st.repos[repoKey(owner, name)] }
