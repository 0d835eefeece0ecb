package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// pkcs8PEM is a PKCS#8 PEM block of a fresh ECDSA key (ec) or RSA key.
func pkcs8PEM(t *testing.T, ec bool) string {
	t.Helper()
	var (
		k   any
		err error
	)
	if ec {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadServerFromEnv(t *testing.T) {
	key := testKeyPEM(t)
	s, err := LoadServer("", envOf(map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "12345",
		"GITHUB_APP_WEBHOOK_SECRET": "s3cret",
		"GITHUB_APP_PRIVATE_KEY":    strings.ReplaceAll(key, "\n", `\n`), // as a .env file holds it
		"GITHUB_V3_API_URL":         "https://ghe.example.com/api/v3",
		"GITHUB_V4_API_URL":         "https://ghe.example.com/api/graphql",
		"GITHUB_WEB_URL":            "https://ghe.example.com",
		"INFRA_AGENT_ADDR":          "127.0.0.1:9999",
		"INFRA_AGENT_PUBLIC_URL":    "https://agent.example.com/",
		"INFRA_AGENT_DATABASE":      "postgres://u:p@db/infra",
	}))
	if err != nil {
		t.Fatalf("LoadServer: %v", err)
	}
	if s.GitHub.App.IntegrationID != 12345 || s.GitHub.App.WebhookSecret != "s3cret" {
		t.Errorf("app settings not read: %+v", s.GitHub.App)
	}
	if s.GitHub.App.PrivateKey != strings.TrimSpace(key) {
		t.Errorf("escaped newlines in the key were not restored")
	}
	if s.GitHub.V3APIURL != "https://ghe.example.com/api/v3/" {
		t.Errorf("V3APIURL = %q, want a trailing slash added", s.GitHub.V3APIURL)
	}
	if s.PublicURL != "https://agent.example.com" || s.Addr != "127.0.0.1:9999" || !IsPostgres(s.Database) {
		t.Errorf("INFRA_AGENT_* settings not read: %+v", s)
	}
	if s.OIDCIssuer != DefaultOIDCIssuer {
		t.Errorf("OIDCIssuer = %q, want the default", s.OIDCIssuer)
	}
}

func TestLoadServerFileThenEnv(t *testing.T) {
	key := testKeyPEM(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "server.yml")
	file := "addr: \":7000\"\ndatabase: file.db\ngithub:\n  app:\n    integration_id: 7\n    webhook_secret: from-file\n    private_key: |\n" +
		indent(key, "      ") + "\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadServer(path, envOf(map[string]string{"GITHUB_APP_WEBHOOK_SECRET": "from-env"}))
	if err != nil {
		t.Fatalf("LoadServer: %v", err)
	}
	if s.Addr != ":7000" || s.Database != "file.db" || s.GitHub.App.IntegrationID != 7 {
		t.Errorf("file settings not read: %+v", s)
	}
	if s.GitHub.App.WebhookSecret != "from-env" {
		t.Errorf("the environment must override the file, got %q", s.GitHub.App.WebhookSecret)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

func TestLoadServerRefusesUnsafeConfig(t *testing.T) {
	key := testKeyPEM(t)
	good := map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "1",
		"GITHUB_APP_WEBHOOK_SECRET": "s",
		"GITHUB_APP_PRIVATE_KEY":    key,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"empty webhook secret", with("GITHUB_APP_WEBHOOK_SECRET", "<unset>"), "webhook secret is empty"},
		{"missing app id", with("GITHUB_APP_INTEGRATION_ID", "<unset>"), "App id is missing"},
		{"app id not a number", with("GITHUB_APP_INTEGRATION_ID", "twelve"), `GITHUB_APP_INTEGRATION_ID: "twelve" is not a number`},
		{"missing key", with("GITHUB_APP_PRIVATE_KEY", "<unset>"), "private key is missing"},
		{"key not PEM", with("GITHUB_APP_PRIVATE_KEY", "not a key"), "is not PEM text"},
		{"key PEM but garbage", with("GITHUB_APP_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "cannot be parsed as an RSA private key"},
		{"key not RSA", with("GITHUB_APP_PRIVATE_KEY", pkcs8PEM(t, true)), "not an RSA private key"},
		{"bad API URL", with("GITHUB_V3_API_URL", "ghe.example.com/api/v3"), "GITHUB_V3_API_URL"},
		{"bad public URL", with("INFRA_AGENT_PUBLIC_URL", "ftp://x"), "INFRA_AGENT_PUBLIC_URL"},
		{"bad OIDC issuer", with("INFRA_AGENT_OIDC_ISSUER", "::"), "INFRA_AGENT_OIDC_ISSUER"},
		{"bad listen address", with("INFRA_AGENT_ADDR", "8080"), "INFRA_AGENT_ADDR"},
		{"bad workers", with("INFRA_AGENT_WORKERS", "lots"), "INFRA_AGENT_WORKERS"},
		{"bad log format", with("INFRA_AGENT_LOG_FORMAT", "xml"), "INFRA_AGENT_LOG_FORMAT"},
		{"heartbeat timeout too short", with("INFRA_AGENT_HEARTBEAT_TIMEOUT", "1s"), "INFRA_AGENT_HEARTBEAT_TIMEOUT"},
		{"heartbeat timeout not a duration", with("INFRA_AGENT_HEARTBEAT_TIMEOUT", "soon"), "is not a duration"},
		{"watchdog interval too long", with("INFRA_AGENT_WATCHDOG_INTERVAL", "1h"), "INFRA_AGENT_WATCHDOG_INTERVAL"},
		{"model provider unknown", with("INFRA_AGENT_MODEL_PROVIDER", "oracle"), "must be anthropic or openai"},
		{"model base URL without a key", with("INFRA_AGENT_MODEL_BASE_URL", "https://llm.example.com"), "INFRA_AGENT_MODEL_API_KEY"},
		{"bad metrics address", with("INFRA_AGENT_METRICS_ADDR", "9090"), "INFRA_AGENT_METRICS_ADDR"},
		{"budget below one webhook", with("INFRA_AGENT_MAX_UNVERIFIED_BYTES", "1048576"), "INFRA_AGENT_MAX_UNVERIFIED_BYTES"},
		{"budget not a number", with("INFRA_AGENT_MAX_UNVERIFIED_BYTES", "1GB"), "INFRA_AGENT_MAX_UNVERIFIED_BYTES"},
		{"retry backoff not a duration", with("INFRA_AGENT_DELIVERY_RETRY_BACKOFF", "soon"), "INFRA_AGENT_DELIVERY_RETRY_BACKOFF"},
		{"retry backoff too long", with("INFRA_AGENT_DELIVERY_RETRY_BACKOFF", "1h"), "INFRA_AGENT_DELIVERY_RETRY_BACKOFF"},
		{"lease too short", with("INFRA_AGENT_LEASE", "10ms"), "INFRA_AGENT_LEASE"},
		{"delivery retention within GitHub's redelivery window", with("INFRA_AGENT_DELIVERY_RETENTION", "24h"), "redelivery window"},
		{"job retention below delivery retention", with("INFRA_AGENT_JOB_RETENTION", "96h"), "INFRA_AGENT_JOB_RETENTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadServer("", envOf(tt.env))
			if err == nil {
				t.Fatalf("want an error mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		_, err := LoadServer("", envOf(nil))
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{"webhook secret", "App id", "private key"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("unknown key in the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.yml")
		if err := os.WriteFile(path, []byte("adress: :80\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadServer(path, envOf(good))
		if err == nil || !strings.Contains(err.Error(), "adress") {
			t.Errorf("want an error naming the unknown key, got %v", err)
		}
	})
}

// TestLoadServerAcceptsPKCS8RSAKey: GitHub's keys are PKCS#1, but an RSA key
// converted to PKCS#8 signs the App's JWTs just as well.
func TestLoadServerAcceptsPKCS8RSAKey(t *testing.T) {
	_, err := LoadServer("", envOf(map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "1",
		"GITHUB_APP_WEBHOOK_SECRET": "s",
		"GITHUB_APP_PRIVATE_KEY":    pkcs8PEM(t, false),
	}))
	if err != nil {
		t.Fatalf("LoadServer refused a PKCS#8 RSA key: %v", err)
	}
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@db/x": true, "postgresql://db/x": true, "POSTGRES://db/x": true,
		"data/infra-agent.db": false, "postgres.db": false, "": false,
	} {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func TestLoadServerModelProxy(t *testing.T) {
	env := map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "1", "GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_APP_PRIVATE_KEY": testKeyPEM(t),
		"INFRA_AGENT_MODEL_API_KEY": "sk-test",
	}
	cfg, err := LoadServer("", func(k string) string { return env[k] })
	if err != nil || cfg.Model.Provider != "anthropic" || cfg.Model.BaseURL != DefaultAnthropicURL ||
		cfg.HeartbeatTimeout != 90*time.Second || cfg.WatchdogInterval != time.Minute {
		t.Fatalf("cfg = %+v, %v", cfg.Model, err)
	}
	env["INFRA_AGENT_MODEL_PROVIDER"] = "openai"
	if cfg, err = LoadServer("", func(k string) string { return env[k] }); err != nil || cfg.Model.BaseURL != DefaultOpenAIURL {
		t.Fatalf("openai: %+v, %v", cfg.Model, err)
	}
}

func TestServerDefaults(t *testing.T) {
	s, err := LoadServer("", envOf(map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "1", "GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_APP_PRIVATE_KEY": testKeyPEM(t),
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The README's configuration table quotes these.
	if s.MetricsAddr != "" || s.MaxUnverifiedBytes != 128<<20 || s.DeliveryRetryBackoff != time.Minute ||
		s.DeliveryRetryWindow != 2*time.Hour || s.Lease != 30*time.Second ||
		s.DeliveryRetention != 7*24*time.Hour || s.JobRetention != 90*24*time.Hour {
		t.Errorf("defaults = %+v", s)
	}
}

func TestLoadServerDurationsFromFileAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.yml")
	if err := os.WriteFile(path, []byte("delivery_retention: 240h\njob_retention: 720h\nmetrics_addr: 127.0.0.1:9090\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadServer(path, envOf(map[string]string{
		"GITHUB_APP_INTEGRATION_ID": "1", "GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_APP_PRIVATE_KEY": testKeyPEM(t),
		"INFRA_AGENT_LEASE": "45s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.DeliveryRetention != 240*time.Hour || s.JobRetention != 720*time.Hour || s.Lease != 45*time.Second || s.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("settings = %+v", s)
	}
}

// TestDatabaseURLErrorsHideThePassword: a postgres:// URL that does not parse
// is refused without being repeated (url.Parse's error quotes it whole).
func TestDatabaseURLErrorsHideThePassword(t *testing.T) {
	const canary = "hunter2-canary"
	for _, dsn := range []string{
		"postgres://infra:" + canary + "@db:notaport/infra",
		"postgres://infra:" + canary + "%zz@db/infra",
		"postgres://infra:" + canary + "@db/infra\x7f\n",
	} {
		_, err := LoadServer("", envOf(map[string]string{
			"GITHUB_APP_INTEGRATION_ID": "1", "GITHUB_APP_WEBHOOK_SECRET": "s", "GITHUB_APP_PRIVATE_KEY": testKeyPEM(t),
			"INFRA_AGENT_DATABASE": dsn,
		}))
		if err == nil {
			continue // it parsed; the store's connection errors are tested there
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("the configuration error repeats the password: %v", err)
		}
		if !strings.Contains(err.Error(), "INFRA_AGENT_DATABASE") {
			t.Errorf("the error does not name the setting: %v", err)
		}
	}
}
