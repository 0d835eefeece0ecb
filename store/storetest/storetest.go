// Package storetest is the behaviour every store.Store driver must have, as one
// test suite that each driver's tests run against a real database.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/store"
)

// OpenFunc opens a store for test t. Called again with the same t after the
// suite closed the previous store, it must open the same database (the suite
// simulates a restart); for a different t it must open an empty database.
type OpenFunc func(t *testing.T) store.Store

// Run runs the suite. Subtests run in parallel, each on its own database.
func Run(t *testing.T, open OpenFunc) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, open OpenFunc)
	}{
		{"DeliveryDedupe", testDeliveryDedupe},
		{"DeliveryConcurrentDedupe", testDeliveryConcurrentDedupe},
		{"DeliveryFinish", testDeliveryFinish},
		{"PendingAfterRestart", testPendingAfterRestart},
		{"Installations", testInstallations},
		{"CreateJobIdempotent", testCreateJobIdempotent},
		{"CreateJobValidation", testCreateJobValidation},
		{"JobIDsSortable", testJobIDsSortable},
		{"Supersede", testSupersede},
		{"ConcurrentCreateJobSamePR", testConcurrentCreateJobSamePR},
		{"ConcurrentCreateJobSameTrigger", testConcurrentCreateJobSameTrigger},
		{"UpdateJobCAS", testUpdateJobCAS},
		{"ListAndCountJobs", testListAndCountJobs},
		{"Ping", testPing},
		{"HandledDeliveries", testHandledDeliveries},
		{"CheckRunOpen", testCheckRunOpen},
		{"ClaimRun", testClaimRun},
		{"ConcurrentClaims", testConcurrentClaims},
		{"RunProgressAndTokens", testRunProgressAndTokens},
		{"AuditEvents", testAuditEvents},
		{"SupersedeAcrossRename", testSupersedeAcrossRename},
		{"JobLimitUnderConcurrency", testJobLimitUnderConcurrency},
		{"RedeliveredFailedDeliveryRunsAgain", testRedeliveredFailedDelivery},
		{"DeliveryFinishedOnArrival", testDeliveryFinishedOnArrival},
		{"ClaimDeliveries", testClaimDeliveries},
		{"ClaimDeliveriesTwoReplicas", testClaimDeliveriesTwoReplicas},
		{"RetryDeliveryLater", testRetryDeliveryLater},
		{"Leases", testLeases},
		{"Replies", testReplies},
		{"Prune", testPrune},
		{"ClaimJob", testClaimJob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open)
		})
	}
}

// Opener returns an OpenFunc that opens, with store.Open, the database whose
// DSN create returns for t; create is called once per test and the DSN reused
// when the suite reopens. The store is closed when the test ends.
func Opener(create func(t *testing.T) string) OpenFunc {
	var (
		mu   sync.Mutex
		dsns = map[*testing.T]string{}
	)
	return func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		dsn, ok := dsns[t]
		mu.Unlock()
		if !ok {
			dsn = create(t)
			mu.Lock()
			dsns[t] = dsn
			mu.Unlock()
			t.Cleanup(func() {
				mu.Lock()
				delete(dsns, t)
				mu.Unlock()
			})
		}
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("store.Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func testPing(t *testing.T, open OpenFunc) {
	s := open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping on a closed store succeeded; a health check would lie")
	}
}

func testInstallations(t *testing.T, open OpenFunc) {
	s := open(t)
	ctx := context.Background()

	if _, err := s.GetInstallation(ctx, 42); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetInstallation(unknown) error = %v, want ErrNotFound", err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	steps := []store.Installation{
		{ID: 42, Account: "octo-org", Action: "created", Repos: []string{"octo-org/infra", "octo-org/web"}, UpdatedAt: at},
		{ID: 42, Account: "octo-org", Action: "removed", Repos: []string{"octo-org/infra"}, UpdatedAt: at.Add(time.Hour)},
		{ID: 42, Account: "octo-org", Action: "suspend", Repos: []string{}, UpdatedAt: at.Add(2 * time.Hour)},
	}
	for _, want := range steps {
		t.Run(want.Action, func(t *testing.T) {
			if err := s.UpsertInstallation(ctx, want); err != nil {
				t.Fatalf("UpsertInstallation: %v", err)
			}
			got, err := s.GetInstallation(ctx, want.ID)
			if err != nil {
				t.Fatalf("GetInstallation: %v", err)
			}
			assertInstallation(t, got, want)
		})
	}
	if err := s.UpsertInstallation(ctx, store.Installation{ID: 0, Account: "x"}); err == nil {
		t.Errorf("UpsertInstallation(id 0) succeeded, want an error")
	}
	other := store.Installation{ID: 7, Account: "someone", Action: "created"}
	if err := s.UpsertInstallation(ctx, other); err != nil {
		t.Fatalf("UpsertInstallation: %v", err)
	}
	got, err := s.GetInstallation(ctx, 7)
	if err != nil {
		t.Fatalf("GetInstallation: %v", err)
	}
	if got.UpdatedAt.IsZero() || len(got.Repos) != 0 {
		t.Errorf("installation 7 = %+v, want UpdatedAt set by the store and no repos", got)
	}
}

func assertInstallation(t *testing.T, got, want store.Installation) {
	t.Helper()
	if got.ID != want.ID || got.Account != want.Account || got.Action != want.Action || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("installation = %+v, want %+v", got, want)
	}
	if len(got.Repos) != len(want.Repos) {
		t.Fatalf("repos = %v, want %v", got.Repos, want.Repos)
	}
	for i := range want.Repos {
		if got.Repos[i] != want.Repos[i] {
			t.Errorf("repos = %v, want %v", got.Repos, want.Repos)
		}
	}
}
