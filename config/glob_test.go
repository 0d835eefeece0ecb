package config

import "testing"

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"**/*.tf", "main.tf", true},
		{"**/*.tf", "envs/prod/main.tf", true},
		{"**/*.tf", "envs/prod/main.tf.json", false},
		{"**/*.tfvars", "prod.tfvars", true},
		{"modules/**", "modules/vpc/main.tf", true},
		{"modules/**", "modules", true},
		{"modules/**", "other/vpc/main.tf", false},
		{"envs/**/main.tf", "envs/main.tf", true},
		{"envs/**/main.tf", "envs/a/b/main.tf", true},
		{"envs/**/main.tf", "envs/a/b/other.tf", false},
		{"*.tf", "main.tf", true},
		{"*.tf", "dir/main.tf", false},
		{"**/**/*.tf", "a/main.tf", true},
		{".github/**", ".github/workflows/ci.yml", true},
		{"[", "[", false},
	}
	for _, tt := range tests {
		t.Run(tt.glob+"~"+tt.name, func(t *testing.T) {
			if got := MatchGlob(tt.glob, tt.name); got != tt.want {
				t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.glob, tt.name, got, tt.want)
			}
		})
	}
}
