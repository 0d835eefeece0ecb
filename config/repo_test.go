package config

import (
	"errors"
	"strings"
	"testing"
	"time"
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
		cfg.Agent.Provider != "openai" || cfg.Agent.Timeout != 10*time.Minute || !cfg.Agent.AllowDestroy {
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
				cfg.Forks != ForksStatic || !cfg.Terraform.Roots.Auto || cfg.Agent.MaxTurns != def.Agent.MaxTurns {
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
		{"var file escaping", "terraform:\n  root_settings:\n    prod:\n      var_files:\n        - ../../secrets.tfvars\n", 5, "var_files"},
		{"too big", "version: 1\n" + strings.Repeat("# padding\n", 30000), 0, "more than the"},
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
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseRepoConfig(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			return
		}
		if verr := cfg.Validate(); verr != nil {
			t.Fatalf("parsed config does not validate: %v", verr)
		}
	})
}
