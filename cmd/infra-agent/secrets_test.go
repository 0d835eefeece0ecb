package main

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/testkit"
)

// canaries are secret values a test plants in every setting that holds one;
// none may appear in an error, a log line or a metric.
type canaries []string

func (c canaries) check(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range c {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains the secret %.12s…:\n%.2000s", where, s, text)
		}
	}
}

// keyCanaries returns lines of a PEM key's body: any of them in an output
// means key material leaked.
func keyCanaries(pemText string) canaries {
	var out canaries
	for _, line := range strings.Split(pemText, "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

// TestStartupErrorsHideSecrets starts the server with settings it refuses or
// cannot use, each holding a canary: the error says what is wrong without it.
func TestStartupErrorsHideSecrets(t *testing.T) {
	const (
		password = "db-password-canary-7f3e"
		secret   = "webhook-secret-canary-91aa"
		modelKey = "sk-model-key-canary-0c1d"
	)
	fake := world(t)
	badKey := "-----BEGIN RSA PRIVATE KEY-----\nS2V5LWNhbmFyeS1ub3QtYS1yZWFsLWtleS1idXQtaXQtbG9va3MtbGlrZS1vbmUtYWJjZGVm\n-----END RSA PRIVATE KEY-----\n"
	c := canaries{password, secret, modelKey}
	c = append(c, keyCanaries(badKey)...)
	c = append(c, keyCanaries(string(fake.PrivateKeyPEM()))...)
	_, pg := testkit.PostgresURL(t)
	sock := pg.Query().Get("host")
	cases := map[string]map[string]string{
		"postgres URL that does not parse": {"INFRA_AGENT_DATABASE": "postgres://infra:" + password + "%zz@db/infra"},
		"postgres URL with a bad port":     {"INFRA_AGENT_DATABASE": "postgres://infra:" + password + "@db:notaport/infra"},
		"postgres server refusing the role": {"INFRA_AGENT_DATABASE": "postgres://no_such_role:" + password +
			"@/postgres?host=" + url.QueryEscape(sock) + "&connect_timeout=5"},
		"postgres server unreachable":     {"INFRA_AGENT_DATABASE": "postgres://infra:" + password + "@127.0.0.1:1/infra?connect_timeout=2"},
		"private key that does not parse": {"GITHUB_APP_PRIVATE_KEY": badKey},
		"every secret and a bad listen address": {"INFRA_AGENT_ADDR": "nope",
			"INFRA_AGENT_DATABASE": "postgres://infra:" + password + "@db/infra"},
		"a model key with a bad provider": {"INFRA_AGENT_MODEL_PROVIDER": "oracle"},
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{
				"GITHUB_V3_API_URL":         fake.URL,
				"GITHUB_APP_INTEGRATION_ID": "424242",
				"GITHUB_APP_WEBHOOK_SECRET": secret,
				"GITHUB_APP_PRIVATE_KEY":    string(fake.PrivateKeyPEM()),
				"INFRA_AGENT_ADDR":          "127.0.0.1:0",
				"INFRA_AGENT_LOG_LEVEL":     "debug",
				"INFRA_AGENT_MODEL_API_KEY": modelKey,
			}
			for k, v := range extra {
				env[k] = v
			}
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, stdio{out: io.Discard, err: &stderr})
			if err == nil {
				t.Fatal("serve started with a setting it cannot use")
			}
			exitCode(err, &stderr)
			t.Logf("refused: %v", err)
			c.check(t, "the start-up error and log", stderr.String())
		})
	}
}

// TestRunningServerHidesSecrets runs the server with a canary webhook secret,
// at debug level, through deliveries good and bad and GitHub failing, then
// reads everything it wrote and served: no webhook secret, key material or
// credential it used (installation tokens, App JWTs) appears.
func TestRunningServerHidesSecrets(t *testing.T) {
	const (
		secret   = "webhook-secret-canary-44d2"
		modelKey = "sk-model-key-canary-9e8f"
	)
	fake := world(t)
	fake.InjectFaults(fakegithub.Faults{Rate: 0.3, Seed: 5, Only: `^/repos/`})
	srv := startServerWith(t, fake, filepath.Join(t.TempDir(), "db.sqlite"), map[string]string{
		"GITHUB_APP_WEBHOOK_SECRET": secret, "INFRA_AGENT_LOG_LEVEL": "debug", "INFRA_AGENT_MODEL_API_KEY": modelKey,
	})
	for i, body := range []string{"/agent plan", "/agent fix", "/agent help", "/agent nonsense", "/agent cancel"} {
		p := commentPayload(t, body)
		deliver(t, srv.url, "issue_comment", "canary-"+string(rune('a'+i)), p, secret)
		deliver(t, srv.url, "issue_comment", "forged-"+string(rune('a'+i)), p, "not-the-secret")
	}
	time.Sleep(2 * time.Second) // the handlers, their GitHub calls and retries
	metrics := scrape(t, srv.url)
	if err := srv.stop(); err != nil {
		t.Logf("stop: %v", err)
	}

	c := canaries{secret, modelKey}
	c = append(c, keyCanaries(string(fake.PrivateKeyPEM()))...)
	credentials := 0
	for _, r := range fake.Requests() {
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && cred != "" {
			c = append(c, cred)
			credentials++
		}
	}
	if credentials == 0 || len(fake.InjectedFaults()) == 0 {
		t.Fatalf("the run used %d credentials and met %d GitHub failures: nothing was exercised", credentials, len(fake.InjectedFaults()))
	}
	if !strings.Contains(srv.logs.String(), `"level":"debug"`) {
		t.Fatal("no debug lines: the run did not log at debug level")
	}
	c.check(t, "the server's log", srv.logs.String())
	c.check(t, "/metrics", metrics)
}
