package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/wire"
)

// RepoConfigPath is where a repository's infra-agent configuration lives. It is
// read from the default branch only.
const RepoConfigPath = ".github/infra-agent.yml"

// RepoConfig is the parsed `.github/infra-agent.yml`.
type RepoConfig struct {
	Version   int             `yaml:"version"`
	Workflow  string          `yaml:"workflow"`
	Terraform TerraformConfig `yaml:"terraform"`
	Policy    PolicyConfig    `yaml:"policy"`
	Commands  CommandsConfig  `yaml:"commands"`
	Review    ReviewConfig    `yaml:"review"`
	Remediate RemediateConfig `yaml:"remediate"`
	Fix       FixConfig       `yaml:"fix"`
	Autofix   AutofixConfig   `yaml:"autofix"`
	Forks     ForkMode        `yaml:"forks"`
	Agent     AgentConfig     `yaml:"agent"`
	Runner    RunnerConfig    `yaml:"runner"`
}

// RunnerConfig governs the runners that take this repository's jobs.
type RunnerConfig struct {
	// SelfHosted lets self-hosted runners claim jobs. They must be ephemeral
	// or just-in-time (one job each): a persistent runner would keep one
	// job's workspace and credentials around for the next.
	SelfHosted bool `yaml:"self_hosted"`
	// Deadlines override a job kind's hard deadline (plan 5m, the others
	// 30m), between 1m and 60m.
	Deadlines map[string]time.Duration `yaml:"deadlines"`
}

// Deadline returns the hard deadline of jobs of kind k.
func (c RepoConfig) Deadline(k wire.Kind) time.Duration {
	if d, ok := c.Runner.Deadlines[string(k)]; ok {
		return d
	}
	return k.DefaultDeadline()
}

// TerraformConfig says where the root modules are and how to run terraform on them.
type TerraformConfig struct {
	// Roots is "auto" (the default) or an explicit list of directories.
	Roots Roots `yaml:"roots"`
	// VarFiles and Workspace apply per root directory.
	RootSettings map[string]RootSettings `yaml:"root_settings"`
	// Binary is "terraform" (default) or "tofu", or a path.
	Binary string `yaml:"binary"`
}

// RootSettings are the per-root options of one root module.
type RootSettings struct {
	VarFiles  []string `yaml:"var_files"`
	Workspace string   `yaml:"workspace"`
}

// Roots is either automatic discovery or a fixed list of directories.
type Roots struct {
	Auto bool
	Dirs []string
}

// UnmarshalYAML accepts `auto` or a list of directories.
func (r *Roots) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "auto" {
			return fmt.Errorf("line %d: terraform.roots must be \"auto\" or a list of directories, got %q", n.Line, n.Value)
		}
		*r = Roots{Auto: true}
		return nil
	case yaml.SequenceNode:
		var dirs []string
		if err := n.Decode(&dirs); err != nil {
			return err
		}
		for _, d := range dirs {
			if err := checkRelPath(d); err != nil {
				return fmt.Errorf("line %d: terraform.roots: %w", n.Line, err)
			}
		}
		*r = Roots{Dirs: dirs}
		return nil
	}
	return fmt.Errorf("line %d: terraform.roots must be \"auto\" or a list of directories", n.Line)
}

// MarshalYAML writes roots back as `auto` or the list.
func (r Roots) MarshalYAML() (any, error) {
	if r.Auto {
		return "auto", nil
	}
	return r.Dirs, nil
}

// PolicyConfig names the Rego policies conftest runs.
type PolicyConfig struct {
	Paths      []string `yaml:"paths"`
	Namespaces []string `yaml:"namespaces"`
	// AllNamespaces runs every namespace found in the policies.
	AllNamespaces bool `yaml:"all_namespaces"`
	// Data lists JSON or YAML files (or directories of them) the policies
	// read under data, as conftest's --data does.
	Data []string `yaml:"data"`
	// RegoVersion is the Rego syntax the policies are written in: v1 (the
	// default) or v0, as conftest's --rego-version.
	RegoVersion string `yaml:"rego_version"`
}

// CommandsConfig governs `/agent` comment commands.
type CommandsConfig struct {
	MinPermission Permission `yaml:"min_permission"`
}

// ReviewConfig governs automatic review of pull requests.
type ReviewConfig struct {
	Enabled bool     `yaml:"enabled"`
	Paths   []string `yaml:"paths"`
}

// RemediateConfig governs issue remediation.
type RemediateConfig struct {
	// Enabled opts the repository in: labelling an issue opens a pull
	// request only when the default branch's configuration says so.
	Enabled bool   `yaml:"enabled"`
	Label   string `yaml:"label"`
}

// FixConfig governs how a fix reaches a pull request's branch.
type FixConfig struct {
	// PushNeedsReview pushes a change that did not pass every check (marked
	// "needs review" in its commit); by default its diff is posted as a
	// comment instead.
	PushNeedsReview bool `yaml:"push_needs_review"`
}

// AutofixConfig governs automatic fix attempts on failing checks.
type AutofixConfig struct {
	Checks      []string `yaml:"checks"`
	MaxAttempts int      `yaml:"max_attempts"`
}

// AgentConfig bounds what the agent may do.
type AgentConfig struct {
	Provider     string        `yaml:"provider"`
	Model        string        `yaml:"model"`
	MaxTurns     int           `yaml:"max_turns"`
	MaxTokens    int           `yaml:"max_tokens"`
	MaxPlanRuns  int           `yaml:"max_plan_runs"`
	Timeout      time.Duration `yaml:"timeout"`
	AllowPaths   []string      `yaml:"allow_paths"`
	DenyPaths    []string      `yaml:"deny_paths"`
	AllowDestroy bool          `yaml:"allow_destroy"`
	// ModuleSources are the module sources (globs) the agent may add
	// besides local paths and those the repository already uses.
	ModuleSources []string `yaml:"module_sources"`
	// MaxDiffLines bounds the lines a change may add and remove.
	MaxDiffLines int `yaml:"max_diff_lines"`
	// Budgets are the per-kind limits (see Limits).
	Budgets BudgetsConfig `yaml:"budgets"`
}

// ForkMode says what fork pull requests get.
type ForkMode string

// Fork modes. Static means fmt/validate/policy on HCL only: no terraform init or
// plan, no secrets, no model, no write token.
const (
	ForksDeny   ForkMode = "deny"
	ForksStatic ForkMode = "static"
)

// Permission is a repository permission level, ordered read < triage < write <
// maintain < admin.
type Permission string

// Permission levels as GitHub's collaborator permission API names them.
const (
	PermissionNone     Permission = "none"
	PermissionRead     Permission = "read"
	PermissionTriage   Permission = "triage"
	PermissionWrite    Permission = "write"
	PermissionMaintain Permission = "maintain"
	PermissionAdmin    Permission = "admin"
)

var permissionRank = map[Permission]int{
	PermissionNone: 0, PermissionRead: 1, PermissionTriage: 2,
	PermissionWrite: 3, PermissionMaintain: 4, PermissionAdmin: 5,
}

// AtLeast reports whether p is at least min. Unknown levels rank as none.
func (p Permission) AtLeast(min Permission) bool {
	return permissionRank[p] >= permissionRank[min]
}

// DefaultRepoConfig returns the configuration used when a repository has none:
// commands work with safe defaults and automatic triggers are off.
func DefaultRepoConfig() RepoConfig {
	return RepoConfig{
		Version:   1,
		Workflow:  "infra-agent.yml",
		Terraform: TerraformConfig{Roots: Roots{Auto: true}, Binary: "terraform"},
		Policy:    PolicyConfig{Paths: []string{"policy"}, Namespaces: []string{"main"}, RegoVersion: "v1"},
		Commands:  CommandsConfig{MinPermission: PermissionWrite},
		Review:    ReviewConfig{Enabled: false, Paths: []string{"**/*.tf", "**/*.tfvars"}},
		Remediate: RemediateConfig{Label: "infra-agent:remediate"},
		Autofix:   AutofixConfig{Checks: nil, MaxAttempts: 2},
		Forks:     ForksStatic,
		Agent: AgentConfig{
			Provider:     "anthropic",
			MaxTurns:     30,
			MaxTokens:    200000,
			MaxPlanRuns:  5,
			Timeout:      15 * time.Minute,
			AllowPaths:   []string{"**/*.tf", "**/*.tfvars"},
			DenyPaths:    []string{".github/**", "**/*.tfstate*", "**/.terraform/**"},
			AllowDestroy: false,
			MaxDiffLines: 500,
		},
	}
}

// ConfigError is a problem in a configuration file, with the line it is on
// when known.
type ConfigError struct {
	File string
	Line int
	Msg  string
	// key is the path of the offending key (and list item), which
	// ParseRepoConfig turns into Line for errors found after decoding.
	key []string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// maxRepoConfigSize bounds the configuration file; anything larger is refused
// rather than parsed.
const maxRepoConfigSize = 256 << 10

// ParseRepoConfig parses a repository configuration strictly: unknown keys,
// wrong types and out-of-range values are errors that name the line. Keys left
// out keep the defaults of DefaultRepoConfig. An empty document is the default.
func ParseRepoConfig(data []byte) (RepoConfig, error) {
	cfg := DefaultRepoConfig()
	if len(data) > maxRepoConfigSize {
		return cfg, &ConfigError{File: RepoConfigPath, Msg: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), maxRepoConfigSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return DefaultRepoConfig(), yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return DefaultRepoConfig(), &ConfigError{File: RepoConfigPath, Line: extra.Line, Msg: "more than one YAML document"}
	}
	if err := cfg.Validate(); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Line == 0 {
			ce.Line = keyLine(data, ce.key)
		}
		return DefaultRepoConfig(), err
	}
	return cfg, nil
}

// keyLine returns the line of the key at path in the YAML document data (of
// the list item, when the path ends with one), or 0 when it is not there: a
// value that came from the defaults has no line.
func keyLine(data []byte, path []string) int {
	var doc yaml.Node
	if len(path) == 0 || yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n, line := doc.Content[0], 0
	for _, seg := range path {
		found := false
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				if item.Kind == yaml.ScalarNode && item.Value == seg {
					line, n, found = item.Line, item, true
					break
				}
			}
		}
		if !found {
			return line
		}
	}
	return line
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into a ConfigError.
func yamlError(err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// yaml.v3 names Go types; say it in the file's terms.
	msg = unknownField.ReplaceAllString(msg, `unknown key "$1"`)
	line := 0
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		if i := strings.Index(msg, ":"); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
	}
	return &ConfigError{File: RepoConfigPath, Line: line, Msg: msg}
}

// Validate checks values the YAML types cannot.
func (c RepoConfig) Validate() error {
	bad := func(key []string, format string, a ...any) error {
		return &ConfigError{File: RepoConfigPath, Msg: fmt.Sprintf(format, a...), key: key}
	}
	at := func(key ...string) []string { return key }
	if c.Version != 1 {
		return bad(at("version"), "version must be 1, got %d", c.Version)
	}
	if c.Workflow == "" || strings.ContainsAny(c.Workflow, "/\\") || !(strings.HasSuffix(c.Workflow, ".yml") || strings.HasSuffix(c.Workflow, ".yaml")) {
		return bad(at("workflow"), "workflow must be a file name in .github/workflows ending in .yml or .yaml, got %q", c.Workflow)
	}
	if _, ok := permissionRank[c.Commands.MinPermission]; !ok || c.Commands.MinPermission == PermissionNone {
		return bad(at("commands", "min_permission"), "commands.min_permission must be one of read, triage, write, maintain, admin; got %q", c.Commands.MinPermission)
	}
	if c.Forks != ForksDeny && c.Forks != ForksStatic {
		return bad(at("forks"), "forks must be deny or static, got %q", c.Forks)
	}
	if strings.TrimSpace(c.Remediate.Label) == "" {
		return bad(at("remediate", "label"), "remediate.label must not be empty")
	}
	if c.Autofix.MaxAttempts < 0 || c.Autofix.MaxAttempts > 10 {
		return bad(at("autofix", "max_attempts"), "autofix.max_attempts must be between 0 and 10, got %d", c.Autofix.MaxAttempts)
	}
	if err := c.Agent.validate(); err != nil {
		return err
	}
	for _, list := range []struct {
		key   string
		globs []string
	}{{"review.paths", c.Review.Paths}, {"agent.allow_paths", c.Agent.AllowPaths}, {"agent.deny_paths", c.Agent.DenyPaths}, {"agent.module_sources", c.Agent.ModuleSources}} {
		for _, g := range list.globs {
			if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
				return bad(append(strings.Split(list.key, "."), g), "%s: bad pattern %q: %v", list.key, g, err)
			}
		}
	}
	for kind, d := range c.Runner.Deadlines {
		if _, err := wire.ParseKind(kind); err != nil {
			return bad(at("runner", "deadlines", kind), "runner.deadlines: %v", err)
		}
		if d < wire.MinDeadline || d > wire.DeadlineCeiling {
			return bad(at("runner", "deadlines", kind), "runner.deadlines.%s must be between %s and %s, got %s",
				kind, wire.MinDeadline, wire.DeadlineCeiling, d)
		}
	}
	for _, p := range c.Policy.Paths {
		if err := checkRelPath(p); err != nil {
			return bad(at("policy", "paths", p), "policy.paths: %v", err)
		}
	}
	for _, p := range c.Policy.Data {
		if err := checkRelPath(p); err != nil {
			return bad(at("policy", "data", p), "policy.data: %v", err)
		}
	}
	if c.Policy.RegoVersion != "v0" && c.Policy.RegoVersion != "v1" {
		return bad(at("policy", "rego_version"), "policy.rego_version must be v0 or v1, got %q", c.Policy.RegoVersion)
	}
	for dir, rs := range c.Terraform.RootSettings {
		if err := checkRelPath(dir); err != nil {
			return bad(at("terraform", "root_settings", dir), "terraform.root_settings: %v", err)
		}
		for _, vf := range rs.VarFiles {
			if err := checkRelPath(vf); err != nil {
				return bad(at("terraform", "root_settings", dir, "var_files", vf), "terraform.root_settings.%s.var_files: %v", dir, err)
			}
		}
	}
	return nil
}

// checkRelPath refuses absolute paths and paths that climb out of the repository.
func checkRelPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if path.IsAbs(p) || strings.HasPrefix(p, "\\") || (len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("path %q must be relative to the repository", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("path %q must not contain ..", p)
		}
	}
	return nil
}
