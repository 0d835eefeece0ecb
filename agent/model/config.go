package model

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

// Providers, as the wire contract names them.
const (
	ProviderAnthropic = wire.ProviderAnthropic
	ProviderOpenAI    = wire.ProviderOpenAI
)

// Default models when neither the repository configuration nor
// INFRA_AGENT_MODEL names one.
const (
	DefaultAnthropicModel = "claude-sonnet-4-5"
	DefaultOpenAIModel    = "gpt-4.1"
)

// DefaultMaxRetries is how many times a client retries a call that failed
// with 408, 409, 429, 5xx or a connection error, waiting as Retry-After says
// (or backing off exponentially).
const DefaultMaxRetries = 3

// defaultRequestTimeout bounds one attempt of one call.
const defaultRequestTimeout = 3 * time.Minute

// Config says which endpoint a client calls and how it authenticates.
type Config struct {
	// Provider is ProviderAnthropic or ProviderOpenAI (any
	// OpenAI-compatible endpoint).
	Provider string
	Model    string
	// BaseURL is the API's base; empty means the provider's public API.
	BaseURL string
	// APIKey is the provider's key (Anthropic: X-Api-Key; OpenAI:
	// Authorization: Bearer), or, through the server's model proxy, the
	// job's session secret.
	APIKey string
	// MaxRetries overrides DefaultMaxRetries; negative means none.
	MaxRetries int
	// HTTPClient is the client requests go through; nil means a default.
	HTTPClient *http.Client
}

// ErrNotConfigured says no model is configured: no key for the provider and
// no proxy. infra-agent fix still applies deterministic fixes without one.
var ErrNotConfigured = errors.New("no model configured")

// FromEnv resolves the local model configuration: INFRA_AGENT_MODEL_PROVIDER
// and INFRA_AGENT_MODEL override the repository's agent.provider and
// agent.model, and the SDKs' own variables give the endpoint and key
// (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL; OPENAI_API_KEY, OPENAI_BASE_URL).
// An OpenAI-compatible endpoint given by OPENAI_BASE_URL needs no key (a
// local Ollama or vLLM). With no key and no endpoint it returns
// ErrNotConfigured.
func FromEnv(getenv func(string) string, agent config.AgentConfig) (Config, error) {
	cfg := Config{Provider: agent.Provider, Model: agent.Model}
	if p := strings.TrimSpace(getenv("INFRA_AGENT_MODEL_PROVIDER")); p != "" {
		cfg.Provider = p
	}
	if m := strings.TrimSpace(getenv("INFRA_AGENT_MODEL")); m != "" {
		cfg.Model = m
	}
	switch cfg.Provider {
	case ProviderAnthropic:
		cfg.APIKey, cfg.BaseURL = getenv("ANTHROPIC_API_KEY"), getenv("ANTHROPIC_BASE_URL")
		if cfg.APIKey == "" {
			return cfg, fmt.Errorf("%w: set ANTHROPIC_API_KEY", ErrNotConfigured)
		}
	case ProviderOpenAI:
		cfg.APIKey, cfg.BaseURL = getenv("OPENAI_API_KEY"), getenv("OPENAI_BASE_URL")
		if cfg.APIKey == "" && cfg.BaseURL == "" {
			return cfg, fmt.Errorf("%w: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local endpoint", ErrNotConfigured)
		}
	default:
		return cfg, fmt.Errorf("model provider %q: want %s or %s (INFRA_AGENT_MODEL_PROVIDER, agent.provider)", cfg.Provider, ProviderAnthropic, ProviderOpenAI)
	}
	return cfg, cfg.validate()
}

// Proxy returns the configuration of a runner's client from its job spec:
// the official SDK of the provider pointed at the server's model proxy for
// the job (wire.ModelAccess), with the job's session secret as its API key.
// The server holds the model key and enforces the job's token budget.
func Proxy(access wire.ModelAccess, sessionSecret, modelName string) (Config, error) {
	cfg := Config{Provider: access.Provider, Model: modelName, BaseURL: access.BaseURL, APIKey: sessionSecret}
	if sessionSecret == "" {
		return cfg, errors.New("model proxy: no session secret")
	}
	if access.BaseURL == "" {
		return cfg, errors.New("model proxy: no base URL in the job spec")
	}
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("model base URL %q: want an http(s) URL", c.BaseURL)
		}
	}
	return nil
}

// New returns the client the configuration describes.
func New(cfg Config) (Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	switch cfg.MaxRetries {
	case 0:
		cfg.MaxRetries = DefaultMaxRetries
	case -1:
		cfg.MaxRetries = 0
	}
	switch cfg.Provider {
	case ProviderAnthropic:
		if cfg.Model == "" {
			cfg.Model = DefaultAnthropicModel
		}
		return newAnthropic(cfg), nil
	case ProviderOpenAI:
		if cfg.Model == "" {
			cfg.Model = DefaultOpenAIModel
		}
		return newOpenAI(cfg), nil
	}
	return nil, fmt.Errorf("model provider %q: want %s or %s", cfg.Provider, ProviderAnthropic, ProviderOpenAI)
}
