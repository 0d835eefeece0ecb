package fakegithub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
)

func TestWorkflowDispatch(t *testing.T) {
	s := seeded(t)
	s.AddWorkflow(owner, repoName, "infra-agent.yml")
	gh := s.Client(t, installationID)
	ctx := context.Background()
	resp, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repoName, "infra-agent.yml",
		github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: map[string]any{"job_id": "job-1"}})
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("dispatch: %v", err)
	}
	ds := s.Dispatches(owner, repoName)
	if len(ds) != 1 || ds[0].Workflow != "infra-agent.yml" || ds[0].Ref != "main" || ds[0].Inputs["job_id"] != "job-1" {
		t.Fatalf("Dispatches() = %+v", ds)
	}
	run, _, err := gh.Actions.GetWorkflowRunByID(ctx, owner, repoName, ds[0].RunID)
	if err != nil || run.GetStatus() != "queued" || run.GetEvent() != "workflow_dispatch" || run.GetHeadBranch() != "main" ||
		run.GetWorkflowID() == 0 {
		t.Fatalf("run = %+v, %v", run, err)
	}
	s.SetRunStatus(owner, repoName, ds[0].RunID, "completed", "failure")
	run, _, err = gh.Actions.GetWorkflowRunByID(ctx, owner, repoName, ds[0].RunID)
	if err != nil || run.GetStatus() != "completed" || run.GetConclusion() != "failure" {
		t.Errorf("completed run = %+v, %v", run, err)
	}
	if _, err := gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repoName, "other.yml",
		github.CreateWorkflowDispatchEventRequest{Ref: "main"}); err == nil {
		t.Error("dispatching a workflow that does not exist succeeded")
	}
	if len(s.Violations()) != 0 {
		t.Errorf("a 404 for an absent workflow is not a violation: %q", s.Violations())
	}
}

func TestWorkflowDispatchRefusals(t *testing.T) {
	inputs := map[string]any{}
	for i := range 26 {
		inputs[fmt.Sprintf("in%d", i)] = "v"
	}
	tests := []struct {
		name      string
		req       github.CreateWorkflowDispatchEventRequest
		violation string
	}{
		{"ref is not a branch or tag", github.CreateWorkflowDispatchEventRequest{Ref: "nope"}, "not an existing branch or tag"},
		{"26 inputs", github.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: inputs}, "inputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			s.ExpectViolations()
			s.AddWorkflow(owner, repoName, "infra-agent.yml")
			resp, err := s.Client(t, installationID).Actions.CreateWorkflowDispatchEventByFileName(
				context.Background(), owner, repoName, "infra-agent.yml", tt.req)
			if err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("err = %v, want 422", err)
			}
			checkViolation(t, s, tt.violation)
			if len(s.Dispatches(owner, repoName)) != 0 {
				t.Error("a refused dispatch was recorded")
			}
		})
	}
}

func TestHookDeliveries(t *testing.T) {
	s := seeded(t)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5 {
		s.AddHookDelivery(fakegithub.HookDelivery{
			GUID: fmt.Sprintf("guid-%d", i), Event: "issue_comment", Action: "created",
			DeliveredAt: base.Add(time.Duration(i) * time.Minute), InstallationID: installationID, RepositoryID: 10,
			StatusCode: map[bool]int{true: 502, false: 200}[i == 3],
		})
	}
	gh := s.AppClient(t)
	ctx := context.Background()
	var guids []string
	opts := &github.ListCursorOptions{PerPage: 2}
	for {
		page, resp, err := gh.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, d := range page {
			guids = append(guids, d.GetGUID())
		}
		if resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if fmt.Sprint(guids) != "[guid-4 guid-3 guid-2 guid-1 guid-0]" {
		t.Fatalf("deliveries newest first = %v", guids)
	}
	failed, _, err := gh.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var failedID int64
	for _, d := range failed {
		if d.GetStatusCode() == 502 {
			failedID = d.GetID()
		}
	}
	// GitHub answers 202 Accepted, which go-github reports as an AcceptedError.
	var accepted *github.AcceptedError
	if _, _, err := gh.Apps.RedeliverHookDelivery(ctx, failedID); !errors.As(err, &accepted) {
		t.Fatalf("redeliver: %v, want go-github's AcceptedError for 202", err)
	}
	if got := s.Redeliveries(); len(got) != 1 || got[0] != failedID {
		t.Errorf("Redeliveries() = %v, want [%d]", got, failedID)
	}
	latest, _, err := gh.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	if err != nil || len(latest) != 1 || latest[0].GetGUID() != "guid-3" || !latest[0].GetRedelivery() {
		t.Errorf("the redelivery is the newest delivery: %+v, %v", latest, err)
	}
}
