package terraform

import (
	"path"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// DefaultEnv returns the environment variables terraform gets by default when
// their names do not look secret: what it needs to find itself, its home and
// temporary directories, proxies and certificates, and its own TF_* settings.
func DefaultEnv() []string {
	return []string{
		"PATH", "HOME", "TMPDIR", "USER", "LANG", "LC_*", "TZ",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
		"TF_*",
	}
}

// DefaultCredentialEnv returns the cloud credential variables a workflow
// provides to terraform, passed even though their names look secret
// (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, ARM_CLIENT_SECRET).
func DefaultCredentialEnv() []string {
	return []string{"AWS_*", "GOOGLE_*", "CLOUDSDK_*", "ARM_*"}
}

// neverPass names variables terraform never gets, whatever the allow-lists
// say: the GitHub token, the runner's own settings and the model keys. The
// runner holds them; a provider, module or external program run by terraform
// must not.
func neverPass() []string {
	return []string{
		"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GITHUB_APP_*",
		"ACTIONS_*", "INFRA_AGENT_*", "ANTHROPIC_*", "OPENAI_*",
	}
}

// secretLooking matches names that look like they hold a secret. Such a
// variable passes only when the credential allow-list names it.
func secretLooking() []string {
	return []string{"*TOKEN", "*_TOKEN_*", "*_API_KEY", "*APIKEY*", "*SECRET*", "*PASSWORD*", "*PRIVATE_KEY*"}
}

// scrubbed is the environment terraform runs with, split the way
// terraform-exec needs it: vars are the TF_VAR_* values, env everything else.
type scrubbed struct {
	env  map[string]string
	vars map[string]string
}

// scrubEnv filters environ (KEY=VALUE entries) down to what terraform may see.
// A variable passes when it is not on the never-pass list and either a
// credential pattern matches it, or an env pattern matches it and its name
// does not look secret. Variables terraform-exec manages itself (TF_LOG,
// TF_CLI_ARGS, TF_WORKSPACE, ...) are dropped: the wrapper sets what it needs.
func scrubEnv(environ, allow, credentials []string) scrubbed {
	s := scrubbed{env: map[string]string{}, vars: map[string]string{}}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if !passes(name, allow, credentials) {
			continue
		}
		if strings.HasPrefix(name, "TF_VAR_") {
			s.vars[name] = value
			continue
		}
		if len(tfexec.ProhibitedEnv(map[string]string{name: value})) > 0 {
			continue
		}
		s.env[name] = value
	}
	return s
}

// passes applies the allow-list rules to one variable name.
func passes(name string, allow, credentials []string) bool {
	upper := strings.ToUpper(name)
	if matchAny(neverPass(), upper) {
		return false
	}
	if matchAny(credentials, name) {
		return true
	}
	return matchAny(allow, name) && !matchAny(secretLooking(), upper)
}

// matchAny reports whether name matches one of the patterns, where `*` stands
// for any run of characters. Malformed patterns match nothing.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, name); err == nil && ok {
			return true
		}
	}
	return false
}
