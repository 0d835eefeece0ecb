// Package redact hides secrets in text: the one redaction every text
// infra-agent posts or logs passes (check runs, comments, errors, logs, model
// context). It depends on nothing of infra-agent, so the server and the
// runner share it.
package redact

import (
	"regexp"
	"strings"
)

// Marker replaces what is redacted.
const Marker = "(redacted)"

// Placeholders terraform and infra-agent show instead of values; they are
// never taken for secrets.
const (
	sensitivePlaceholder = "(sensitive value)"
	unknownPlaceholder   = "(known after apply)"
)

// String replaces secret-looking substrings of s with Marker: whatever
// gitleaks' rule set finds (cloud, SaaS, CI and package-registry tokens,
// connection strings, webhook URLs, private keys: some two hundred rules),
// and infra-agent's own patterns for what those rules let through: AWS
// access key ids and secret keys, GitHub tokens, JWTs, PEM private keys
// (escaped or cut short), Google API keys, Slack tokens, bearer tokens,
// passwords in URLs, Azure storage account keys and SAS signatures, and the
// values of password/secret/token/private_key/api_key-named settings
// (`name = value`, `name: value`, `"name": "value"`), whatever their
// entropy. Every text infra-agent posts or logs passes through it:
// terraform's `sensitive` marks only what the configuration declares, and
// findings, errors and summaries quote user content.
//
// String is idempotent and safe for concurrent use. It errs on the side of
// redacting: a false positive costs a hidden value, a miss leaks a credential.
func String(s string) string {
	return own(defaultScanner().redact(s))
}

// own applies infra-agent's own patterns.
func own(s string) string {
	for _, r := range redactRules {
		if r.hint(s) {
			s = r.apply(s)
		}
	}
	if hasSecretKeyRun(s) {
		s = redactSecretKeyRuns(s)
	}
	return s
}

// redactRule is one pattern with a cheap pre-check, so clean text (the common
// case: tens of thousands of plan values) costs a few substring searches.
type redactRule struct {
	hint  func(string) bool
	apply func(string) string
}

func containsAny(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
}

func replaceWith(re *regexp.Regexp, repl string) func(string) string {
	return func(s string) string { return re.ReplaceAllString(s, repl) }
}

// The patterns and rules below are compiled once and never modified: they are
// constants in all but syntax, and safe for concurrent use.
var (
	pemBlockRE = regexp.MustCompile(`(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----`)
	// A key cut short (a truncated log line) still hides what is left of it.
	pemHeadRE    = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[A-Za-z0-9+/=\s\\]*`)
	awsKeyIDRE   = regexp.MustCompile(`(?:AKIA|ASIA)[A-Z0-9]{16}`)
	githubRE     = regexp.MustCompile(`(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`)
	jwtRE        = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
	googleKeyRE  = regexp.MustCompile(`AIza[0-9A-Za-z_-]{35}`)
	slackRE      = regexp.MustCompile(`xox[abposr]-[A-Za-z0-9-]{10,}`)
	bearerRE     = regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]{12,}=*`)
	urlPasswordR = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"'<>]+:)[^/\s@"'<>]+@`)
	// Azure storage account keys in connection strings, and the signature of
	// shared access signature URLs, whatever their entropy.
	azureKeyRE = regexp.MustCompile(`(?i)(AccountKey=)[A-Za-z0-9+/]{16,}={0,2}`)
	azureSigRE = regexp.MustCompile(`([?&]sig=)[A-Za-z0-9%+/=_-]{16,}`)
	// secretAssignRE finds `name = value`, `name: value` and `"name": "value"`
	// (and the `-> value` of a rendered diff line) where name looks like a
	// secret; assignSecret decides per match.
	secretAssignRE = regexp.MustCompile(`(?i)([A-Za-z0-9_.-]*(?:pass(?:word|wd)|secret|token|private[_-]?key|api[_-]?key|access[_-]?key|client[_-]?key|credential)[A-Za-z0-9_-]*)(["']?\s*(?:=>|=|:)\s*)` + assignValue + `(?:(\s*->\s*)` + assignValue + `)?`)
)

// assignValue is a quoted string or a bare word that does not open a list,
// object or placeholder.
const assignValue = `("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"',;(\[{}\]][^\s"',;}\]]*)`

var redactRules = []redactRule{
	{containsAny("PRIVATE KEY"), func(s string) string {
		return pemHeadRE.ReplaceAllString(pemBlockRE.ReplaceAllString(s, Marker), Marker)
	}},
	{containsAny("AKIA", "ASIA"), replaceWith(awsKeyIDRE, Marker)},
	{containsAny("ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"), replaceWith(githubRE, Marker)},
	{containsAny("eyJ"), replaceWith(jwtRE, Marker)},
	{containsAny("AIza"), replaceWith(googleKeyRE, Marker)},
	{containsAny("xox"), replaceWith(slackRE, Marker)},
	{containsFold("bearer"), replaceWith(bearerRE, "${1}"+Marker)},
	{containsAny("://"), replaceWith(urlPasswordR, "${1}"+Marker+"@")},
	{containsFold("accountkey="), replaceWith(azureKeyRE, "${1}"+Marker)},
	{containsAny("sig="), replaceWith(azureSigRE, "${1}"+Marker)},
	{containsFold("pass", "secret", "token", "key", "credential"), redactAssignments},
}

// redactAssignments redacts the values of secret-named settings, keeping the
// name, the quotes and values that cannot be secrets (booleans, numbers,
// null, placeholders), so a diff line stays readable.
func redactAssignments(s string) string {
	matches := secretAssignRE.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		if !Name(strings.Trim(s[m[2]:m[3]], `"'`)) {
			continue
		}
		// m[6:8] is the value, m[10:12] the value after "->" when present.
		for _, g := range [][2]int{{m[6], m[7]}, {m[10], m[11]}} {
			if g[0] < 0 {
				continue
			}
			b.WriteString(s[last:g[0]])
			b.WriteString(redactValueToken(s[g[0]:g[1]]))
			last = g[1]
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

func redactValueToken(v string) string {
	quote := ""
	inner := v
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		quote, inner = v[:1], v[1:len(v)-1]
	}
	if notSecretValue(inner) {
		return v
	}
	return quote + Marker + quote
}

func notSecretValue(v string) bool {
	switch strings.ToLower(v) {
	case "", "true", "false", "null", "nil", "none", Marker, sensitivePlaceholder, unknownPlaceholder:
		return true
	}
	for _, r := range v {
		if (r < '0' || r > '9') && r != '.' && r != '-' {
			return false
		}
	}
	return true
}

// Name reports whether an attribute, variable or setting name says its value
// is a secret. Names of references to secrets (ids, ARNs, names) are not.
func Name(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	found := false
	for _, w := range []string{"password", "passwd", "secret", "token", "private_key", "privatekey", "api_key", "apikey", "access_key", "accesskey", "client_key", "credential"} {
		if strings.Contains(n, w) {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	for _, suffix := range []string{"_arn", "_id", "_ids", "_name", "_names"} {
		if strings.HasSuffix(n, suffix) && !strings.HasSuffix(n, "key_id") {
			return false
		}
	}
	return true
}

// containsFold returns a pre-check for ASCII case-insensitive substrings.
func containsFold(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if indexFold(s, sub) >= 0 {
				return true
			}
		}
		return false
	}
}

// indexFold is strings.Index for a lower-case ASCII needle, ignoring ASCII
// case in s, without allocating a lower-cased copy of s.
func indexFold(s, lower string) int {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

// AWS secret access keys are 40 characters of base64 with no fixed prefix.
// Only a run of exactly 40 such characters with upper case, lower case and a
// digit or '/' or '+' counts, so git SHAs (lower-case hex) and base64 hashes
// (44 characters) are not mistaken for keys.
const secretKeyLen = 40

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '+'
}

// secretKeyRuns returns the [start, end) offsets of key-like runs.
func secretKeyRuns(s string) [][2]int {
	var runs [][2]int
	for i := 0; i < len(s); {
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		var upper, lower, other bool
		for j < len(s) && isB64(s[j]) {
			c := s[j]
			upper = upper || c >= 'A' && c <= 'Z'
			lower = lower || c >= 'a' && c <= 'z'
			other = other || c >= '0' && c <= '9' || c == '/' || c == '+'
			j++
		}
		bounded := j == len(s) || s[j] != '='
		if j-i == secretKeyLen && upper && lower && other && bounded {
			runs = append(runs, [2]int{i, j})
		}
		i = j
	}
	return runs
}

func hasSecretKeyRun(s string) bool {
	if len(s) < secretKeyLen {
		return false
	}
	return len(secretKeyRuns(s)) > 0
}

func redactSecretKeyRuns(s string) string {
	var b strings.Builder
	last := 0
	for _, r := range secretKeyRuns(s) {
		b.WriteString(s[last:r[0]])
		b.WriteString(Marker)
		last = r[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
