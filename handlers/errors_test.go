package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/infra-agent/infra-agent/jobs"
)

// allHandlers returns every handler, by event, submitting to sub.
func allHandlers(t *testing.T, sub Submitter) map[string]githubapp.EventHandler {
	t.Helper()
	hs, err := New(Options{AppID: testAppID, Jobs: sub, Runs: &recordingReconciler{}, Installations: &recordingRecorder{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	byEvent := map[string]githubapp.EventHandler{}
	for _, h := range hs {
		for _, ev := range h.Handles() {
			byEvent[ev] = h
		}
	}
	return byEvent
}

func TestMalformedJSON(t *testing.T) {
	events := []string{"issue_comment", "issues", "pull_request", "check_run", "check_suite", "workflow_run", "installation", "installation_repositories"}
	bodies := map[string]string{
		"truncated":       `{"action": "created", "comment": {"body": "/agent fix"`,
		"not an object":   `["/agent fix"]`,
		"wrong type":      `{"action": 7}`,
		"not json at all": `/agent fix`,
	}
	for _, event := range events {
		for name, body := range bodies {
			t.Run(event+"/"+name, func(t *testing.T) {
				srv := newServer(t, testAppID)
				if got := srv.deliver(t, event, "d-malformed", []byte(body), testSecret); got != http.StatusInternalServerError {
					t.Errorf("status %d, want 500", got)
				}
				if n := len(srv.jobs.recorded()) + len(srv.runs.recorded()) + len(srv.installs.recorded()); n != 0 {
					t.Errorf("%d things handed over for malformed JSON", n)
				}
				if !strings.Contains(srv.logs.String(), "decoding "+event+" payload") {
					t.Errorf("logs lack the decoding error:\n%s", srv.logs)
				}
			})
		}
	}
}

func TestUnparsableTimestampError(t *testing.T) {
	// go-github v62 cannot parse the "2018-04-25 20:42:10" timestamps of this
	// real payload: the handler says so instead of acting on half a payload.
	sub := &recordingSubmitter{}
	h := allHandlers(t, sub)["check_run"]
	err := h.Handle(context.Background(), "check_run", "d-07", readPayload(t, "octokit/check_run/07-rerequested.json"))
	if err == nil || !strings.Contains(err.Error(), "decoding check_run payload") || !strings.Contains(err.Error(), "2018-04-25 20:42:10") {
		t.Fatalf("error = %v, want a decoding error naming the timestamp", err)
	}
	t.Logf("error: %v", err)
	if len(sub.recorded()) != 0 {
		t.Fatal("task submitted")
	}
}

func TestSignatureAndUnknownEvents(t *testing.T) {
	payload := applyEdits(t, readPayload(t, "extra/atlantis__githubIssueCommentEvent.json"),
		[]edit{withInstallation(), set("comment.body", "/agent fix")})
	tests := []struct {
		name, event, secret string
		want                int
	}{
		{"bad signature", "issue_comment", "not-the-secret", http.StatusBadRequest},
		{"missing signature", "issue_comment", "", http.StatusBadRequest},
		{"unknown event", "star", testSecret, http.StatusAccepted},
		{"valid", "issue_comment", testSecret, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, testAppID)
			if got := srv.deliver(t, tc.event, "d-sig", payload, tc.secret); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
			wantTasks := 0
			if tc.want == http.StatusOK {
				wantTasks = 1
			}
			if n := len(srv.jobs.recorded()); n != wantTasks {
				t.Errorf("%d tasks, want %d", n, wantTasks)
			}
		})
	}
}

// failingSubmitter fails every submission and counts them.
type failingSubmitter struct{ calls int }

var errSubmit = errors.New("store is down")

func (f *failingSubmitter) Submit(context.Context, jobs.Task) error {
	f.calls++
	return errSubmit
}

func TestSubmitErrorsAreReturned(t *testing.T) {
	two := applyEdits(t, readPayload(t, "octokit/check_run/01-completed.json"), []edit{
		withInstallation(),
		set("check_run.pull_requests.1", map[string]any{"number": 3, "head": map[string]any{"ref": "x", "sha": "abc"}, "base": map[string]any{"ref": "master"}}),
	})
	sub := &failingSubmitter{}
	err := allHandlers(t, sub)["check_run"].Handle(context.Background(), "check_run", "d-fail", two)
	if !errors.Is(err, errSubmit) {
		t.Fatalf("error = %v, want it to wrap %v", err, errSubmit)
	}
	if sub.calls != 2 {
		t.Errorf("%d submissions, want 2: one failure must not drop the other pull request", sub.calls)
	}
}

func TestLogContext(t *testing.T) {
	srv := newServer(t, testAppID)
	body := applyEdits(t, readPayload(t, "extra/atlantis__githubIssueCommentEvent.json"),
		[]edit{withInstallation(), set("comment.body", "/agent plan")})
	if got := srv.deliver(t, "issue_comment", "d-logs", body, testSecret); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	var line string
	for _, l := range strings.Split(srv.logs.String(), "\n") {
		if strings.Contains(l, `"message":"submitting task"`) {
			line = l
		}
	}
	for _, want := range []string{
		`"` + githubapp.LogKeyDeliveryID + `":"d-logs"`,
		`"` + githubapp.LogKeyEventType + `":"issue_comment"`,
		`"` + githubapp.LogKeyInstallationID + `":57`,
		`"` + githubapp.LogKeyRepositoryOwner + `":"runatlantis"`,
		`"` + githubapp.LogKeyRepositoryName + `":"atlantis-tests"`,
		`"` + githubapp.LogKeyPRNum + `":1`,
		`"` + LogKeyAction + `":"created"`,
		`"` + LogKeySender + `":"runatlantis"`,
		`"` + LogKeyCommentID + `":396926483`,
		`"` + LogKeyTaskAction + `":"run"`,
		`"` + LogKeyTaskKind + `":"plan"`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("submitting task log line lacks %s:\n%s", want, line)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := Options{AppID: 1, Jobs: &recordingSubmitter{}, Runs: &recordingReconciler{}, Installations: &recordingRecorder{}}
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no app id", func(o *Options) { o.AppID = 0 }},
		{"no submitter", func(o *Options) { o.Jobs = nil }},
		{"no reconciler", func(o *Options) { o.Runs = nil }},
		{"no recorder", func(o *Options) { o.Installations = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			if _, err := New(o); err == nil {
				t.Fatal("New accepted incomplete options")
			}
		})
	}
	hs, err := New(ok)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	seen := map[string]bool{}
	for _, h := range hs {
		for _, ev := range h.Handles() {
			if seen[ev] {
				t.Errorf("event %s handled twice", ev)
			}
			seen[ev] = true
		}
	}
	for _, ev := range []string{"issue_comment", "issues", "pull_request", "check_run", "check_suite", "workflow_run", "installation", "installation_repositories"} {
		if !seen[ev] {
			t.Errorf("no handler for %s", ev)
		}
	}
}
