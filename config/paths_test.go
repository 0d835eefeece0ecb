package config

import (
	"strings"
	"testing"
)

func TestWritablePath(t *testing.T) {
	// A configuration that tries to allow everything and deny nothing still
	// cannot open the always-denied paths.
	open := AgentConfig{AllowPaths: []string{"**"}, DenyPaths: nil}
	def := DefaultRepoConfig().Agent
	tests := []struct {
		name string
		cfg  AgentConfig
		path string
		want string // "" allowed, else a substring of the error
	}{
		{"tf file", def, "envs/prod/main.tf", ""},
		{"tfvars", def, "prod.tfvars", ""},
		{"outside allow", def, "scripts/deploy.sh", "outside agent.allow_paths"},
		{"workflow", open, ".github/workflows/ci.yml", "always denied"},
		{"agent config", open, ".github/infra-agent.yml", "always denied"},
		{"workflow case", open, ".GitHub/workflows/ci.yml", "always denied"},
		{"codeowners root", open, "CODEOWNERS", "always denied"},
		{"codeowners docs", open, "docs/CODEOWNERS", "always denied"},
		{"state", open, "envs/prod/terraform.tfstate", "always denied"},
		{"state backup", open, "terraform.tfstate.backup", "always denied"},
		{"terraform dir", open, "envs/prod/.terraform/providers/x", "always denied"},
		{"lock file", open, "envs/prod/.terraform.lock.hcl", "always denied"},
		{"config deny", AgentConfig{AllowPaths: []string{"**"}, DenyPaths: []string{"modules/**"}}, "modules/vpc/main.tf", "agent.deny_paths"},
		{"dotdot", open, "../main.tf", "not a clean path"},
		{"inner dotdot", open, "envs/../../main.tf", "not a clean path"},
		{"absolute", open, "/etc/passwd", "not a clean path"},
		{"backslash", open, "envs\\main.tf", "not a clean path"},
		{"empty", open, "", "not a clean path"},
		{"dot", open, ".", "not a clean path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.WritablePath(tt.path)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("WritablePath(%q) = %v, want allowed", tt.path, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("WritablePath(%q) = %v, want an error containing %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestEffectiveDenyPathsKeepHardRules(t *testing.T) {
	cfg, err := ParseRepoConfig([]byte("version: 1\nagent:\n  deny_paths: [\"secrets/**\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Agent.EffectiveDenyPaths()
	for _, want := range append(AlwaysDeniedPaths(), "secrets/**") {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("EffectiveDenyPaths() = %v, missing %q", got, want)
		}
	}
}
