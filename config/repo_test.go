package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infra-agent/infra-agent/wire"
)

func TestParseRepoConfig(t *testing.T) {
	full := `version: 1
workflow: agent.yaml
terraform:
  roots: [envs/dev, envs/prod]
  root_settings:
    envs/prod:
      var_files: [prod.tfvars]
      workspace: prod
policy:
  paths: [policy, shared/policy]
  namespaces: [main, terraform]
  data: [policy/data.yaml]
  rego_version: v0
commands:
  min_permission: maintain
review:
  enabled: true
  paths: ["envs/**"]
remediate:
  label: fix-me
autofix:
  checks: [terraform-ci]
  max_attempts: 1
forks: deny
agent:
  provider: openai
  model: gpt-x
  max_turns: 20
  max_tokens: 100000
  max_plan_runs: 3
  timeout: 10m
  allow_paths: ["**/*.tf"]
  deny_paths: [".github/**"]
  allow_destroy: true
`
	cfg, err := ParseRepoConfig([]byte(full))
	if err != nil {
		t.Fatalf("ParseRepoConfig: %v", err)
	}
	if cfg.Workflow != "agent.yaml" || cfg.Terraform.Roots.Auto || len(cfg.Terraform.Roots.Dirs) != 2 ||
		cfg.Terraform.RootSettings["envs/prod"].Workspace != "prod" || cfg.Commands.MinPermission != PermissionMaintain ||
		!cfg.Review.Enabled || cfg.Remediate.Label != "fix-me" || cfg.Autofix.MaxAttempts != 1 || cfg.Forks != ForksDeny ||
		cfg.Agent.Provider != "openai" || cfg.Agent.Timeout != 10*time.Minute || !cfg.Agent.AllowDestroy ||
		cfg.Policy.RegoVersion != "v0" || len(cfg.Policy.Data) != 1 || cfg.Policy.Data[0] != "policy/data.yaml" {
		t.Errorf("parsed config wrong: %+v", cfg)
	}

	t.Run("absent or empty file is the default", func(t *testing.T) {
		for _, doc := range []string{"", "# only a comment\n", "version: 1\n"} {
			cfg, err := ParseRepoConfig([]byte(doc))
			if err != nil {
				t.Fatalf("%q: %v", doc, err)
			}
			def := DefaultRepoConfig()
			if cfg.Review.Enabled || len(cfg.Autofix.Checks) != 0 || cfg.Commands.MinPermission != PermissionWrite ||
				cfg.Forks != ForksStatic || !cfg.Terraform.Roots.Auto || cfg.Agent.MaxTurns != def.Agent.MaxTurns ||
				cfg.Policy.RegoVersion != "v1" || cfg.Policy.Data != nil {
				t.Errorf("%q: not the safe defaults: %+v", doc, cfg)
			}
		}
	})
	t.Run("keys left out keep their defaults", func(t *testing.T) {
		cfg, err := ParseRepoConfig([]byte("version: 1\nagent:\n  model: m\n"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Agent.Model != "m" || cfg.Agent.Provider != "anthropic" || cfg.Agent.MaxTurns != 30 || len(cfg.Agent.DenyPaths) != 3 {
			t.Errorf("defaults lost: %+v", cfg.Agent)
		}
	})
}

func TestParseRepoConfigErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"unknown key", "version: 1\nreveiw:\n  enabled: true\n", 2, `unknown key "reveiw"`},
		{"unknown nested key", "version: 1\nagent:\n  max_turn: 3\n", 3, `unknown key "max_turn"`},
		{"wrong type", "version: 1\nagent:\n  max_turns: many\n", 3, "cannot unmarshal"},
		{"bad duration", "version: 1\nagent:\n  timeout: forever\n", 3, "forever"},
		{"syntax error", "version: 1\nreview: [\n", 2, "did not find expected node content"},
		{"tabs", "version: 1\nreview:\n\tenabled: true\n", 3, ""},
		{"bad roots scalar", "terraform:\n  roots: everything\n", 2, `"auto"`},
		{"roots escaping the repo", "terraform:\n  roots: [../other]\n", 2, ".."},
		{"absolute root", "terraform:\n  roots: [/etc]\n", 2, "relative"},
		{"two documents", "version: 1\n---\nversion: 1\n", 0, "more than one YAML document"},
		{"wrong version", "version: 2\n", 1, "version must be 1"},
		{"bad permission", "commands:\n  min_permission: god\n", 2, "min_permission"},
		{"permission none", "commands:\n  min_permission: none\n", 2, "min_permission"},
		{"bad forks", "version: 1\nforks: allow\n", 2, "forks must be deny or static"},
		{"workflow with a path", "workflow: ../../evil.yml\n", 1, "workflow must be a file name"},
		{"workflow not yaml", "workflow: run.sh\n", 1, "workflow must be a file name"},
		{"deadline of an unknown kind", "runner:\n  deadlines:\n    deploy: 5m\n", 3, `unknown job kind "deploy"`},
		{"deadline over the ceiling", "runner:\n  deadlines:\n    fix: 2h\n", 3, "between 1m0s and 1h0m0s"},
		{"deadline too short", "runner:\n  deadlines:\n    plan: 10s\n", 3, "between 1m0s and 1h0m0s"},
		{"empty label", "remediate:\n  label: \"\"\n", 2, "remediate.label"},
		{"provider", "agent:\n  provider: llama\n", 2, "agent.provider"},
		{"max turns 0", "agent:\n  max_turns: 0\n", 2, "agent.max_turns"},
		{"too many attempts", "autofix:\n  max_attempts: 99\n", 2, "autofix.max_attempts"},
		{"tiny timeout", "agent:\n  timeout: 1s\n", 2, "agent.timeout"},
		{"bad glob", "review:\n  paths:\n    - \"**/*.tf\"\n    - \"[\"\n", 4, "bad pattern"},
		{"policy path escaping", "policy:\n  paths: [../../policy]\n", 2, "policy.paths"},
		{"policy data escaping", "policy:\n  paths: [policy]\n  data:\n    - /etc/passwd\n", 4, "policy.data"},
		{"rego version", "version: 1\npolicy:\n  rego_version: v2\n", 3, "policy.rego_version must be v0 or v1"},
		{"var file escaping", "terraform:\n  root_settings:\n    prod:\n      var_files:\n        - ../../secrets.tfvars\n", 5, "var_files"},
		{"too big", "version: 1\n" + strings.Repeat("# padding\n", 30000), 0, "more than the"},
		{"budget over the ceiling", "agent:\n  budgets:\n    fix:\n      turns: 500\n", 4, "agent.budgets.fix.turns"},
		{"budget tokens too small", "agent:\n  budgets:\n    review:\n      tokens: 10\n", 4, "agent.budgets.review.tokens"},
		{"budget negative plan runs", "agent:\n  budgets:\n    remediate:\n      plan_runs: -1\n", 4, "agent.budgets.remediate.plan_runs"},
		{"budget timeout over the ceiling", "agent:\n  budgets:\n    fix:\n      timeout: 12h\n", 4, "agent.budgets.fix.timeout"},
		{"budget unknown kind", "agent:\n  budgets:\n    plan:\n      turns: 3\n", 3, `unknown key "plan"`},
		{"diff lines", "agent:\n  max_diff_lines: 0\n", 2, "agent.max_diff_lines"},
		{"module source glob", "agent:\n  module_sources: [\"[\"]\n", 2, "agent.module_sources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseRepoConfig([]byte(tt.doc))
			if err == nil {
				t.Fatalf("want an error, got %+v", cfg)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.File != RepoConfigPath {
				t.Errorf("File = %q", ce.File)
			}
			if tt.line != 0 && ce.Line != tt.line {
				t.Errorf("Line = %d, want %d (%v)", ce.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			// A broken config never yields permissive settings.
			if cfg.Review.Enabled || len(cfg.Autofix.Checks) > 0 || cfg.Agent.AllowDestroy {
				t.Errorf("broken config returned non-default settings: %+v", cfg)
			}
		})
	}
}

func TestLimitsPerKind(t *testing.T) {
	def := DefaultRepoConfig().Agent
	for kind, want := range map[wire.Kind]Limits{
		wire.KindFix:       {Turns: 30, Tokens: 200_000, ToolCalls: 100, Timeout: 15 * time.Minute, PlanRuns: 5},
		wire.KindReview:    {Turns: 20, Tokens: 200_000, ToolCalls: 50, Timeout: 10 * time.Minute, PlanRuns: 0},
		wire.KindRemediate: {Turns: 50, Tokens: 500_000, ToolCalls: 200, Timeout: 30 * time.Minute, PlanRuns: 10},
	} {
		if got := def.Limits(kind); got != want {
			t.Errorf("default %s limits = %+v, want %+v", kind, got, want)
		}
	}
	cfg, err := ParseRepoConfig([]byte(`version: 1
agent:
  max_turns: 12
  max_plan_runs: 2
  budgets:
    fix:
      tokens: 50000
    review:
      turns: 40
      plan_runs: 1
    remediate:
      timeout: 1h
      plan_runs: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Agent.Limits(wire.KindFix); got.Turns != 12 || got.PlanRuns != 2 || got.Tokens != 50000 || got.Timeout != 15*time.Minute {
		t.Errorf("fix: the original keys and budgets.fix do not both apply: %+v", got)
	}
	if got := cfg.Agent.Limits(wire.KindReview); got.Turns != 40 || got.PlanRuns != 1 || got.Tokens != 200_000 {
		t.Errorf("review = %+v", got)
	}
	if got := cfg.Agent.Limits(wire.KindRemediate); got.Timeout != time.Hour || got.PlanRuns != 0 || got.Turns != 12 || got.Tokens != 500_000 {
		t.Errorf("remediate: the changed max_turns, the raised timeout or zero plan runs lost: %+v", got)
	}
	// The original keys at their defaults leave each kind its own.
	if got := DefaultRepoConfig().Agent.Limits(wire.KindRemediate); got.Turns != 50 || got.Tokens != 500_000 {
		t.Errorf("remediate defaults = %+v", got)
	}
}

func TestPermissionAtLeast(t *testing.T) {
	order := []Permission{PermissionNone, PermissionRead, PermissionTriage, PermissionWrite, PermissionMaintain, PermissionAdmin}
	for i, p := range order {
		for j, min := range order {
			if got, want := p.AtLeast(min), i >= j; got != want {
				t.Errorf("%s.AtLeast(%s) = %v, want %v", p, min, got, want)
			}
		}
	}
	if Permission("superuser").AtLeast(PermissionRead) {
		t.Error("an unknown permission must rank as none")
	}
}

// FuzzParseRepoConfig checks that any document either parses into a config
// that validates, or fails with a ConfigError — never a panic, never a
// half-parsed config.
func FuzzParseRepoConfig(f *testing.F) {
	for _, seed := range []string{
		"", "version: 1\n", "terraform:\n  roots: auto\n", "terraform:\n  roots: [a, b]\n",
		"agent:\n  timeout: 10m\n  max_turns: 5\n", "review:\n  enabled: true\n  paths: ['**/*.tf']\n",
		"version: [\n", "a: &x [*x]\n", "forks: deny\ncommands:\n  min_permission: admin\n",
		"terraform:\n  root_settings:\n    envs/prod: {var_files: [prod.tfvars], workspace: prod}\n",
		"autofix:\n  checks: [ci]\n  max_attempts: 0\n", "agent:\n  max_turns: -1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := parseProperty(data, ParseRepoConfig); err != nil {
			t.Fatal(err)
		}
	})
}

// parseProperty checks what a parse of any input must give. A failure is a
// *ConfigError of the file, with a message and a line inside the document, and
// returns the defaults: nothing half-parsed can be acted on. A success is
// valid, and writing it back as YAML and parsing that gives the same
// configuration.
func parseProperty(data []byte, parse func([]byte) (RepoConfig, error)) error {
	cfg, err := parse(data)
	if err != nil {
		var ce *ConfigError
		switch {
		case !errors.As(err, &ce):
			return fmt.Errorf("error %T %v is not a *ConfigError", err, err)
		case ce.File != RepoConfigPath || strings.TrimSpace(ce.Msg) == "":
			return fmt.Errorf("error %+v does not name the file and the problem", ce)
		case ce.Line < 0 || ce.Line > lineCount(data):
			return fmt.Errorf("error on line %d of a %d-line document", ce.Line, lineCount(data))
		case !reflect.DeepEqual(cfg, DefaultRepoConfig()):
			return fmt.Errorf("a failed parse (%v) returned %+v, not the defaults", err, cfg)
		}
		return nil
	}
	if verr := cfg.Validate(); verr != nil {
		return fmt.Errorf("parsed config does not validate: %v", verr)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("writing the parsed config back: %v", err)
	}
	again, err := parse(out)
	if err != nil {
		return fmt.Errorf("the parsed config, written back, does not parse: %v\n%s", err, out)
	}
	if back, _ := yaml.Marshal(again); !bytes.Equal(back, out) {
		return fmt.Errorf("the parsed config changed on a round trip:\n%s\nbecame\n%s", out, back)
	}
	return settingsKept(data, out)
}

// settingsKept checks that every plain setting the document states has the
// same value in the parsed configuration written back as YAML. Forms whose
// meaning depends on YAML's finer rules (aliases, merge keys, floats, nulls)
// are not compared.
func settingsKept(data, out []byte) error {
	var in, got yaml.Node
	if yaml.Unmarshal(data, &in) != nil || len(in.Content) == 0 || yaml.Unmarshal(out, &got) != nil {
		return nil
	}
	return sameSettings("", in.Content[0], got.Content[0])
}

func sameSettings(path string, in, got *yaml.Node) error {
	switch in.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(in.Content); i += 2 {
			key, val := in.Content[i].Value, in.Content[i+1]
			if key == "<<" || in.Content[i].Kind != yaml.ScalarNode || in.Content[i].Tag != "!!str" {
				return nil
			}
			next := valueOf(got, key)
			if next == nil {
				return fmt.Errorf("setting %s%s was lost", path, key)
			}
			if err := sameSettings(path+key+".", val, next); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		if got.Kind != yaml.SequenceNode || len(got.Content) != len(in.Content) {
			return fmt.Errorf("setting %s lists %d items, became %d", strings.TrimSuffix(path, "."), len(in.Content), len(got.Content))
		}
		for i := range in.Content {
			if err := sameSettings(path, in.Content[i], got.Content[i]); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !sameScalar(in, got) {
			return fmt.Errorf("setting %s is %q in the document, %q once parsed", strings.TrimSuffix(path, "."), in.Value, got.Value)
		}
	}
	return nil
}

// valueOf returns the value of key in a mapping node, or nil.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// sameScalar compares two scalars as durations, integers, booleans or text;
// the forms it cannot judge count as the same.
func sameScalar(in, got *yaml.Node) bool {
	switch in.Tag {
	case "!!str", "!!int", "!!bool":
	default:
		return true
	}
	if got.Kind != yaml.ScalarNode {
		return false
	}
	a, b := in.Value, got.Value
	if x, err := time.ParseDuration(a); err == nil {
		y, err := time.ParseDuration(b)
		return err == nil && x == y
	}
	if x, err := strconv.ParseInt(a, 10, 64); err == nil && in.Tag == "!!int" {
		y, err := strconv.ParseInt(b, 10, 64)
		return err == nil && x == y
	}
	if x, err := strconv.ParseBool(a); err == nil && in.Tag == "!!bool" {
		y, err := strconv.ParseBool(b)
		return err == nil && x == y
	}
	return a == b
}

// lineCount counts lines as YAML does: \n, \r\n, a lone \r and the Unicode
// line breaks end one; a UTF-16 document is bounded by its length.
func lineCount(data []byte) int {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return len(data)/2 + 1
	}
	n := 1 + bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
	for i, c := range data {
		if c == '\n' || c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			n++
		}
	}
	return n
}

// TestParsePropertyCanFail: the fuzz property catches the parsers it must:
// one that returns what it decoded before failing, one whose errors have no
// line, and one that loses a setting.
func TestParsePropertyCanFail(t *testing.T) {
	broken := map[string]func([]byte) (RepoConfig, error){
		"half-parsed on failure": func(data []byte) (RepoConfig, error) {
			cfg, err := ParseRepoConfig(data)
			if err != nil {
				var partial RepoConfig
				_ = yaml.Unmarshal(data, &partial)
				return partial, err
			}
			return cfg, nil
		},
		"plain errors": func(data []byte) (RepoConfig, error) {
			cfg, err := ParseRepoConfig(data)
			if err != nil {
				return cfg, errors.New(err.Error())
			}
			return cfg, nil
		},
		"loses a setting": func(data []byte) (RepoConfig, error) {
			cfg, err := ParseRepoConfig(data)
			if err == nil && cfg.Agent.MaxTurns != 30 {
				cfg.Agent.MaxTurns = 30
			}
			return cfg, err
		},
	}
	inputs := [][]byte{[]byte("workflow: x.yml\nversion: [\n"), []byte("agent:\n  max_turns: 3\n"), []byte("forks: maybe\n")}
	for name, parse := range broken {
		caught := false
		for _, in := range inputs {
			if parseProperty(in, parse) != nil {
				caught = true
			}
		}
		if !caught {
			t.Errorf("the property passes a parser that is %s", name)
		}
	}
	for _, in := range inputs {
		if err := parseProperty(in, ParseRepoConfig); err != nil {
			t.Errorf("ParseRepoConfig(%q): %v", in, err)
		}
	}
}
