package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/infra-agent/infra-agent/checks"
)

// The review remembers what it said in hidden markers, so the next review of
// the pull request can tell what changed: every comment carries the
// fingerprint of what it is about, and the body carries the review's state.
// Only comments and reviews by this App are read (the caller filters by
// author), and text that is not this package's own (model comments, policy
// messages) cannot carry a marker: it is escaped before it is posted.
const (
	commentMarker = "<!-- infra-agent:comment "
	stateMarker   = "<!-- infra-agent:review "
	markerEnd     = " -->"
)

// Comment kinds, in the comment marker.
const (
	kindFinding = "finding"
	kindFix     = "fix"
	kindModel   = "model"
)

// State is what a review body records for the next one.
type State struct {
	Version int    `json:"v"`
	JobID   string `json:"job"`
	HeadSHA string `json:"head"`
	// Kept are the comments of earlier reviews this review kept open (they
	// still apply and are where they were); the comments of the review
	// itself are open too.
	Kept []int64 `json:"kept,omitempty"`
	// Body are the fingerprints of the findings and fixes shown in the body
	// only (not on a line of the diff).
	Body []string `json:"body,omitempty"`
}

// stateVersion is the version of State this package writes.
const stateVersion = 1

// ParseState reads the state marker of a review body; ok is false when the
// body has none (not a review of this App, or of another version).
func ParseState(body string) (State, bool) {
	i := strings.LastIndex(body, stateMarker)
	if i < 0 {
		return State{}, false
	}
	rest := body[i+len(stateMarker):]
	j := strings.Index(rest, markerEnd)
	if j < 0 {
		return State{}, false
	}
	var s State
	if json.Unmarshal([]byte(rest[:j]), &s) != nil || s.Version != stateVersion || s.JobID == "" {
		return State{}, false
	}
	return s, true
}

func (s State) marker() string {
	s.Version = stateVersion
	data, _ := json.Marshal(s)
	// An HTML comment ends at the first "--": JSON of ids and hex has none,
	// but a job id is not ours to trust blindly.
	return stateMarker + strings.ReplaceAll(string(data), "--", `-\u002d`) + markerEnd
}

var commentMarkerRE = regexp.MustCompile(`<!-- infra-agent:comment (finding|fix|model) ([0-9a-f]{16}) -->`)

// parseCommentMarker reads the kind and fingerprint of a comment this
// package wrote.
func parseCommentMarker(body string) (kind, fp string, ok bool) {
	m := commentMarkerRE.FindStringSubmatch(body)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func commentMarkerFor(kind, fp string) string {
	return commentMarker + kind + " " + fp + markerEnd
}

// fingerprint identifies what a comment is about across pushes: not by line,
// which moves when lines are added above it.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func findingFP(f checks.Finding) string {
	return fingerprint(kindFinding, f.Root, f.File, f.Source, f.Namespace, f.Rule, f.Address, f.Message)
}

// hunkFP identifies a fix by its file, what it replaces, with what, and the
// fix it comes from (which names the resource); n tells apart the same
// change made twice in a file.
func hunkFP(h hunk, n int) string {
	return fingerprint(kindFix, h.path, strings.Join(h.old, "\n"), strings.Join(h.lines, "\n"), h.fix.Kind, h.fix.Rule,
		h.fix.Description, strconv.Itoa(n))
}

func modelFP(m ModelComment) string {
	return fingerprint(kindModel, m.Path, strings.Join(strings.Fields(m.Body), " "))
}

// Prior is what this App said on the pull request before: its latest review
// with a state marker, and its review comments with markers.
type Prior struct {
	// ReviewID is the latest review's id; 0 when there is none.
	ReviewID int64
	State    State
	// URL is the latest review's link.
	URL      string
	Comments []PriorComment
}

// PriorComment is one earlier review comment of this App.
type PriorComment struct {
	ID       int64
	NodeID   string
	ReviewID int64
	Path     string
	// Line is where the comment is now; 0 when GitHub marks it outdated
	// (the lines it was on changed).
	Line int
	Body string
	URL  string
}

// open returns the comments the latest review left open: its own and those
// it kept. Comments of older reviews were resolved or replaced then.
func (p Prior) open() []PriorComment {
	if p.ReviewID == 0 {
		return nil
	}
	kept := map[int64]bool{}
	for _, id := range p.State.Kept {
		kept[id] = true
	}
	var out []PriorComment
	for _, c := range p.Comments {
		if c.ReviewID == p.ReviewID || kept[c.ID] {
			out = append(out, c)
		}
	}
	return out
}
