package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

// TestServeMetricsOnTheirOwnAddress: with INFRA_AGENT_METRICS_ADDR set, the
// metrics are served there and not on the address GitHub reaches.
func TestServeMetricsOnTheirOwnAddress(t *testing.T) {
	fake := world(t)
	srv := startServerWith(t, fake, filepath.Join(t.TempDir(), "db.sqlite"), map[string]string{
		"INFRA_AGENT_METRICS_ADDR": "127.0.0.1:0",
	})
	if srv.metricsURL == "" {
		t.Fatalf("no metrics address in the listening line:\n%s", srv.logs)
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(srv.url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %d, want 404", code)
	}
	code, body := get(srv.metricsURL + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "infra_agent_webhook_rejected_total") {
		t.Errorf("/metrics on the metrics address: %d\n%.300s", code, body)
	}
	if code, _ := get(srv.metricsURL + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on the metrics address: %d", code)
	}
	if code, _ := get(srv.url + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on the public address: %d", code)
	}
}

// TestServeGuardsTheWebhookRoute: a delivery signed only with the legacy
// SHA-1 header is refused (the dispatcher would accept it), and a body larger
// than GitHub sends is refused before it is read.
func TestServeGuardsTheWebhookRoute(t *testing.T) {
	fake := world(t)
	srv := startServer(t, fake, filepath.Join(t.TempDir(), "db.sqlite"))
	body := commentPayload(t, "/agent fix")
	req := testkit.WebhookRequest(t, srv.url+"/api/github/hook", "issue_comment", "sha1-only", body, "")
	req.Header.Set("X-Hub-Signature", "sha1="+strings.Repeat("0", 40))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("SHA-1 signature only: %d, want 400", resp.StatusCode)
	}

	huge, err := http.NewRequest(http.MethodPost, srv.url+"/api/github/hook", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	huge.ContentLength = 26 << 20 // declared; the body never comes
	huge.Header.Set("X-Hub-Signature-256", "sha256=00")
	huge.Header.Set("X-GitHub-Event", "issue_comment")
	huge.Header.Set("X-GitHub-Delivery", "too-large")
	resp, err = http.DefaultClient.Do(huge)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("26 MB declared: %d, want 413", resp.StatusCode)
		}
	}
	if n := len(fake.CheckRuns(e2eOwner, e2eRepo)); n != 0 {
		t.Errorf("%d check runs after refused deliveries", n)
	}
}

// TestServeStartFailureLeavesNothingServing: a start-up step that fails
// after the database opened (here the metrics address is taken) ends serve
// with an error and nothing listening, rather than a server that answers
// webhooks over a closed database.
func TestServeStartFailureLeavesNothingServing(t *testing.T) {
	fake := world(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mainAddr := free.Addr().String()
	free.Close()

	env := map[string]string{
		"GITHUB_V3_API_URL":         fake.URL,
		"GITHUB_V4_API_URL":         fake.URL + "graphql",
		"GITHUB_APP_INTEGRATION_ID": "424242",
		"GITHUB_APP_WEBHOOK_SECRET": e2eSecret,
		"GITHUB_APP_PRIVATE_KEY":    string(fake.PrivateKeyPEM()),
		"INFRA_AGENT_ADDR":          mainAddr,
		"INFRA_AGENT_METRICS_ADDR":  taken.Addr().String(),
		"INFRA_AGENT_DATABASE":      filepath.Join(t.TempDir(), "db.sqlite"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	logs := &testkit.LogBuffer{}
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, stdio{out: io.Discard, err: logs})
	}()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatalf("serve kept running although the metrics address is taken\n%s", logs)
	}
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("serve returned %v, want an error naming the taken address", err)
	}
	conn, derr := net.DialTimeout("tcp", mainAddr, time.Second)
	if derr == nil {
		conn.Close()
		t.Errorf("something still listens on %s after serve returned", mainAddr)
	}
	var opErr *net.OpError
	if derr != nil && !errors.As(derr, &opErr) {
		t.Errorf("dialing %s: %v", mainAddr, derr)
	}
}
