// Package config holds the server configuration (YAML file plus environment,
// validated at start) and the repository configuration `.github/infra-agent.yml`.
package config

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"gopkg.in/yaml.v3"
)

// Defaults of the server settings.
const (
	DefaultAddr       = ":8080"
	DefaultDatabase   = "data/infra-agent.db"
	DefaultOIDCIssuer = "https://token.actions.githubusercontent.com"
	DefaultAPIURL     = "https://api.github.com/"
	DefaultGraphQLURL = "https://api.github.com/graphql"
	DefaultWebURL     = "https://github.com"

	DefaultDeliveryRetryBackoff = time.Minute
	DefaultDeliveryRetryWindow  = 2 * time.Hour
	DefaultLease                = 30 * time.Second
	DefaultDeliveryRetention    = 7 * 24 * time.Hour
	DefaultJobRetention         = 90 * 24 * time.Hour
	DefaultMaxUnverifiedBytes   = 128 << 20
)

// GitHub's own limits the settings are checked against.
const (
	// MaxWebhookBytes is GitHub's cap on a webhook payload (25 MB).
	MaxWebhookBytes = 25 << 20
	// redeliveryWindow is how far back GitHub lets a delivery be redelivered
	// (3 days): a delivery id must be remembered at least that long, or a
	// redelivery would run a processed delivery again.
	redeliveryWindow = 72 * time.Hour
)

// Server is the server configuration: go-githubapp's Config plus our own
// settings.
type Server struct {
	GitHub githubapp.Config `yaml:"github"`

	// Addr is the listen address (INFRA_AGENT_ADDR).
	Addr string `yaml:"addr"`
	// PublicURL is where GitHub and runners reach the server (INFRA_AGENT_PUBLIC_URL).
	PublicURL string `yaml:"public_url"`
	// Database is a SQLite file path or a postgres:// URL (INFRA_AGENT_DATABASE).
	Database string `yaml:"database"`
	// OIDCIssuer is the Actions OIDC issuer runners' tokens must come from (INFRA_AGENT_OIDC_ISSUER).
	OIDCIssuer string `yaml:"oidc_issuer"`

	// MetricsAddr, when set, is a separate listen address for /metrics, which
	// the main address then does not serve (INFRA_AGENT_METRICS_ADDR).
	MetricsAddr string `yaml:"metrics_addr"`

	// Workers and QueueSize bound the asynchronous webhook processing.
	Workers   int `yaml:"workers"`
	QueueSize int `yaml:"queue_size"`
	// MaxUnverifiedBytes bounds the webhook bodies held in memory before
	// their signature is checked, all requests together.
	MaxUnverifiedBytes int64 `yaml:"max_unverified_bytes"`

	// DeliveryRetryBackoff is the wait before a failed delivery's first retry
	// (doubled up to ten times itself); DeliveryRetryWindow is how long after its
	// arrival it is retried.
	DeliveryRetryBackoff time.Duration `yaml:"delivery_retry_backoff"`
	DeliveryRetryWindow  time.Duration `yaml:"delivery_retry_window"`
	// Lease is how long a replica's claim on a delivery or on a background
	// duty (watchdog, redelivery, pruning) lasts without renewal: how soon
	// another replica, or the same one restarted, takes over from one that
	// died (INFRA_AGENT_LEASE).
	Lease time.Duration `yaml:"lease"`
	// DeliveryRetention and JobRetention are how long processed deliveries and
	// ended jobs are kept.
	DeliveryRetention time.Duration `yaml:"delivery_retention"`
	JobRetention      time.Duration `yaml:"job_retention"`

	// ShutdownTimeout bounds the drain of in-flight work at shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// LogLevel is debug, info, warn or error; LogFormat is json or console.
	LogLevel  string `yaml:"log_level"`
	LogFormat string `yaml:"log_format"`

	// HeartbeatTimeout is how long a running job may go without a heartbeat
	// (INFRA_AGENT_HEARTBEAT_TIMEOUT); runners beat three times within it.
	HeartbeatTimeout time.Duration `yaml:"heartbeat_timeout"`
	// WatchdogInterval is how often stale jobs are looked for
	// (INFRA_AGENT_WATCHDOG_INTERVAL).
	WatchdogInterval time.Duration `yaml:"watchdog_interval"`

	// Model is the model provider behind the runners' model proxy.
	Model ModelProxy `yaml:"model"`
}

// ModelProxy is the provider the server forwards runners' model calls to,
// holding its key so that runners never see one. No API key: no proxy.
type ModelProxy struct {
	// Provider is anthropic or openai (any OpenAI-compatible endpoint)
	// (INFRA_AGENT_MODEL_PROVIDER).
	Provider string `yaml:"provider"`
	// BaseURL is the provider's API base (INFRA_AGENT_MODEL_BASE_URL); empty
	// means the provider's public API.
	BaseURL string `yaml:"base_url"`
	// APIKey is the provider's key (INFRA_AGENT_MODEL_API_KEY).
	APIKey string `yaml:"api_key"`
}

// Public API bases of the model providers.
const (
	DefaultAnthropicURL = "https://api.anthropic.com"
	DefaultOpenAIURL    = "https://api.openai.com/v1"
)

// DefaultServer returns the settings used where neither the file nor the
// environment says otherwise.
func DefaultServer() Server {
	s := Server{
		Addr:             DefaultAddr,
		Database:         DefaultDatabase,
		OIDCIssuer:       DefaultOIDCIssuer,
		Workers:          8,
		QueueSize:        1000,
		ShutdownTimeout:  30 * time.Second,
		HeartbeatTimeout: 90 * time.Second,
		WatchdogInterval: time.Minute,
		LogLevel:         "info",
		LogFormat:        "json",

		MaxUnverifiedBytes:   DefaultMaxUnverifiedBytes,
		DeliveryRetryBackoff: DefaultDeliveryRetryBackoff,
		DeliveryRetryWindow:  DefaultDeliveryRetryWindow,
		Lease:                DefaultLease,
		DeliveryRetention:    DefaultDeliveryRetention,
		JobRetention:         DefaultJobRetention,
	}
	s.GitHub.V3APIURL = DefaultAPIURL
	s.GitHub.V4APIURL = DefaultGraphQLURL
	s.GitHub.WebURL = DefaultWebURL
	return s
}

// LoadServer builds the server configuration: defaults, then the YAML file at
// path (when not empty), then the environment, then validation. getenv is
// os.Getenv outside tests.
func LoadServer(path string, getenv func(string) string) (Server, error) {
	s := DefaultServer()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return s, fmt.Errorf("reading config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			return s, fmt.Errorf("parsing config file %s: %w", path, err)
		}
	}
	if err := s.applyEnv(getenv); err != nil {
		return s, err
	}
	s.normalize()
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// applyEnv overrides settings with the environment variables that are set:
// go-githubapp's GITHUB_* names and our INFRA_AGENT_* ones.
func (s *Server) applyEnv(getenv func(string) string) error {
	strs := map[string]*string{
		"GITHUB_WEB_URL":             &s.GitHub.WebURL,
		"GITHUB_V3_API_URL":          &s.GitHub.V3APIURL,
		"GITHUB_V4_API_URL":          &s.GitHub.V4APIURL,
		"GITHUB_APP_WEBHOOK_SECRET":  &s.GitHub.App.WebhookSecret,
		"GITHUB_APP_PRIVATE_KEY":     &s.GitHub.App.PrivateKey,
		"INFRA_AGENT_ADDR":           &s.Addr,
		"INFRA_AGENT_METRICS_ADDR":   &s.MetricsAddr,
		"INFRA_AGENT_PUBLIC_URL":     &s.PublicURL,
		"INFRA_AGENT_DATABASE":       &s.Database,
		"INFRA_AGENT_OIDC_ISSUER":    &s.OIDCIssuer,
		"INFRA_AGENT_LOG_LEVEL":      &s.LogLevel,
		"INFRA_AGENT_LOG_FORMAT":     &s.LogFormat,
		"INFRA_AGENT_MODEL_PROVIDER": &s.Model.Provider,
		"INFRA_AGENT_MODEL_BASE_URL": &s.Model.BaseURL,
		"INFRA_AGENT_MODEL_API_KEY":  &s.Model.APIKey,
	}
	for name, dst := range strs {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	ints := map[string]*int{
		"INFRA_AGENT_WORKERS":    &s.Workers,
		"INFRA_AGENT_QUEUE_SIZE": &s.QueueSize,
	}
	for name, dst := range ints {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", name, v)
			}
			*dst = n
		}
	}
	if v := getenv("INFRA_AGENT_MAX_UNVERIFIED_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("INFRA_AGENT_MAX_UNVERIFIED_BYTES: %q is not a number", v)
		}
		s.MaxUnverifiedBytes = n
	}
	durations := map[string]*time.Duration{
		"INFRA_AGENT_HEARTBEAT_TIMEOUT":      &s.HeartbeatTimeout,
		"INFRA_AGENT_WATCHDOG_INTERVAL":      &s.WatchdogInterval,
		"INFRA_AGENT_DELIVERY_RETRY_BACKOFF": &s.DeliveryRetryBackoff,
		"INFRA_AGENT_DELIVERY_RETRY_WINDOW":  &s.DeliveryRetryWindow,
		"INFRA_AGENT_LEASE":                  &s.Lease,
		"INFRA_AGENT_DELIVERY_RETENTION":     &s.DeliveryRetention,
		"INFRA_AGENT_JOB_RETENTION":          &s.JobRetention,
	}
	for name, dst := range durations {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a duration (like 90s, 30m, 168h)", name, v)
			}
			*dst = d
		}
	}
	if v := getenv("GITHUB_APP_INTEGRATION_ID"); v != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("GITHUB_APP_INTEGRATION_ID: %q is not a number", v)
		}
		s.GitHub.App.IntegrationID = id
	}
	return nil
}

// normalize fixes harmless spelling differences: a PEM key whose newlines were
// escaped as \n (common in .env files and secret stores), and an API base URL
// without its trailing slash (go-github requires it).
func (s *Server) normalize() {
	key := strings.TrimSpace(s.GitHub.App.PrivateKey)
	if !strings.Contains(key, "\n") && strings.Contains(key, `\n`) {
		key = strings.TrimSpace(strings.ReplaceAll(key, `\n`, "\n"))
	}
	s.GitHub.App.PrivateKey = key
	if s.GitHub.V3APIURL != "" && !strings.HasSuffix(s.GitHub.V3APIURL, "/") {
		s.GitHub.V3APIURL += "/"
	}
	s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
	if s.Model.APIKey != "" && s.Model.Provider == "" {
		s.Model.Provider = "anthropic"
	}
	if s.Model.APIKey != "" && s.Model.BaseURL == "" {
		s.Model.BaseURL = map[string]string{"anthropic": DefaultAnthropicURL, "openai": DefaultOpenAIURL}[s.Model.Provider]
	}
}

// Validate refuses a configuration the server cannot run safely with. The
// messages name the setting and the environment variable that sets it.
func (s Server) Validate() error {
	var errs []error
	if s.GitHub.App.WebhookSecret == "" {
		errs = append(errs, errors.New("the webhook secret is empty (GITHUB_APP_WEBHOOK_SECRET): webhooks would be accepted unsigned"))
	}
	if s.GitHub.App.IntegrationID <= 0 {
		errs = append(errs, errors.New("the GitHub App id is missing (GITHUB_APP_INTEGRATION_ID)"))
	}
	if s.GitHub.App.PrivateKey == "" {
		errs = append(errs, errors.New("the GitHub App private key is missing (GITHUB_APP_PRIVATE_KEY, PEM text)"))
	} else if err := checkPrivateKey(s.GitHub.App.PrivateKey); err != nil {
		errs = append(errs, fmt.Errorf("the GitHub App private key (GITHUB_APP_PRIVATE_KEY) %w", err))
	}
	for _, u := range []struct{ name, env, value string }{
		{"GitHub API URL", "GITHUB_V3_API_URL", s.GitHub.V3APIURL},
		{"GitHub GraphQL URL", "GITHUB_V4_API_URL", s.GitHub.V4APIURL},
		{"GitHub web URL", "GITHUB_WEB_URL", s.GitHub.WebURL},
		{"OIDC issuer", "INFRA_AGENT_OIDC_ISSUER", s.OIDCIssuer},
	} {
		if err := checkURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("the %s (%s) %w", u.name, u.env, err))
		}
	}
	if s.PublicURL != "" {
		if err := checkURL(s.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("the public URL (INFRA_AGENT_PUBLIC_URL) %w", err))
		}
	}
	errs = append(errs, s.Model.validate()...)
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		errs = append(errs, fmt.Errorf("the listen address (INFRA_AGENT_ADDR) %q is not host:port: %v", s.Addr, err))
	}
	if s.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(s.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("the metrics listen address (INFRA_AGENT_METRICS_ADDR) %q is not host:port: %v", s.MetricsAddr, err))
		}
	}
	if s.Database == "" {
		errs = append(errs, errors.New("the database (INFRA_AGENT_DATABASE) is empty"))
	} else if IsPostgres(s.Database) {
		if _, err := url.Parse(s.Database); err != nil {
			// url.Parse's error quotes the whole URL, password included.
			errs = append(errs, errors.New("the database URL (INFRA_AGENT_DATABASE) is not a valid URL (check that the password is percent-encoded)"))
		}
	}
	errs = append(errs, s.validateDurations()...)
	if s.Workers < 1 || s.Workers > 256 {
		errs = append(errs, fmt.Errorf("workers must be between 1 and 256, got %d", s.Workers))
	}
	if s.QueueSize < 1 || s.QueueSize > 1_000_000 {
		errs = append(errs, fmt.Errorf("queue_size must be between 1 and 1000000, got %d", s.QueueSize))
	}
	if s.HeartbeatTimeout < 3*time.Second || s.HeartbeatTimeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("heartbeat_timeout (INFRA_AGENT_HEARTBEAT_TIMEOUT) must be between 3s and 15m, got %s", s.HeartbeatTimeout))
	}
	if s.WatchdogInterval < time.Second || s.WatchdogInterval > 10*time.Minute {
		errs = append(errs, fmt.Errorf("watchdog_interval (INFRA_AGENT_WATCHDOG_INTERVAL) must be between 1s and 10m, got %s", s.WatchdogInterval))
	}
	if s.MaxUnverifiedBytes < MaxWebhookBytes {
		errs = append(errs, fmt.Errorf("max_unverified_bytes (INFRA_AGENT_MAX_UNVERIFIED_BYTES) must be at least %d, GitHub's largest webhook, got %d",
			MaxWebhookBytes, s.MaxUnverifiedBytes))
	}
	switch s.LogFormat {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log format (INFRA_AGENT_LOG_FORMAT) must be json or console, got %q", s.LogFormat))
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level (INFRA_AGENT_LOG_LEVEL) must be debug, info, warn or error, got %q", s.LogLevel))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  - %w", joinLines(errs))
	}
	return nil
}

// validate checks the model proxy settings; none set is valid (no proxy).
func (m ModelProxy) validate() []error {
	if m.APIKey == "" && m.BaseURL == "" && m.Provider == "" {
		return nil
	}
	var errs []error
	if m.Provider != "anthropic" && m.Provider != "openai" {
		errs = append(errs, fmt.Errorf("the model provider (INFRA_AGENT_MODEL_PROVIDER) must be anthropic or openai, got %q", m.Provider))
	}
	if m.APIKey == "" {
		errs = append(errs, errors.New("the model proxy has no API key (INFRA_AGENT_MODEL_API_KEY)"))
	}
	if m.BaseURL != "" {
		if err := checkURL(m.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("the model base URL (INFRA_AGENT_MODEL_BASE_URL) %w", err))
		}
	}
	return errs
}

// validateDurations checks the retry, lease and retention settings.
func (s Server) validateDurations() []error {
	var errs []error
	if s.DeliveryRetryBackoff <= 0 || s.DeliveryRetryBackoff > 10*time.Minute {
		errs = append(errs, fmt.Errorf("delivery_retry_backoff (INFRA_AGENT_DELIVERY_RETRY_BACKOFF) must be positive and at most 10m, got %s", s.DeliveryRetryBackoff))
	}
	if s.DeliveryRetryWindow < 0 {
		errs = append(errs, fmt.Errorf("delivery_retry_window (INFRA_AGENT_DELIVERY_RETRY_WINDOW) must not be negative, got %s", s.DeliveryRetryWindow))
	}
	if s.Lease < time.Second {
		errs = append(errs, fmt.Errorf("lease (INFRA_AGENT_LEASE) must be at least 1s, got %s", s.Lease))
	}
	if s.DeliveryRetention < redeliveryWindow {
		errs = append(errs, fmt.Errorf("delivery_retention (INFRA_AGENT_DELIVERY_RETENTION) must be at least %s, GitHub's redelivery window: a redelivered webhook would run again, got %s",
			redeliveryWindow, s.DeliveryRetention))
	}
	if s.JobRetention < s.DeliveryRetention {
		errs = append(errs, fmt.Errorf("job_retention (INFRA_AGENT_JOB_RETENTION) must be at least delivery_retention (%s), got %s", s.DeliveryRetention, s.JobRetention))
	}
	return errs
}

// IsPostgres reports whether a database setting selects PostgreSQL. URL
// schemes are case-insensitive, and the store opens PostgreSQL for any case:
// the validation must agree with it.
func IsPostgres(dsn string) bool {
	lower := strings.ToLower(dsn)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http(s) URL", raw)
	}
	return nil
}

// checkPrivateKey parses the key the way the App will use it, so a bad key
// stops the server at start instead of failing the first webhook.
func checkPrivateKey(key string) error {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return errors.New("is not PEM text (it should start with -----BEGIN RSA PRIVATE KEY-----)")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("cannot be parsed as an RSA private key: %v", err)
	}
	// GitHub App keys are RSA, and the App's JWTs are signed with RS256: any
	// other key would pass here and fail every API call.
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("is a %T, not an RSA private key (download the key from the App's settings page)", k)
	}
	return nil
}

// joinLines joins errors one per line under a common heading.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  - "))
}
