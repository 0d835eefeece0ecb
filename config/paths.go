package config

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// alwaysDenied are the paths the agent may never write, whatever a
// repository's agent.allow_paths and agent.deny_paths say: the workflows and
// the agent's own configuration (they decide what runs with which token),
// code ownership (it decides who must review), terraform state and
// terraform's working data. They are matched case-insensitively, so a
// `.GitHub/` on a case-insensitive checkout is the same directory.
var alwaysDenied = [...]string{
	".github/**",
	"**/CODEOWNERS",
	"**/*.tfstate",
	"**/*.tfstate.*",
	"**/.terraform/**",
	"**/.terraform.lock.hcl",
}

// AlwaysDeniedPaths returns the globs no configuration can make writable.
func AlwaysDeniedPaths() []string { return append([]string(nil), alwaysDenied[:]...) }

// EffectiveDenyPaths returns the globs the agent may not write: the
// repository's agent.deny_paths and, always, AlwaysDeniedPaths.
func (a AgentConfig) EffectiveDenyPaths() []string {
	out := AlwaysDeniedPaths()
	for _, g := range a.DenyPaths {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// WritablePath says whether the agent may write the repository-relative,
// slash-separated path p: it must be a clean relative path inside the
// repository, match agent.allow_paths, and match no deny glob (deny wins). The
// error says which rule refused it.
func (a AgentConfig) WritablePath(p string) error {
	if p == "" || path.IsAbs(p) || strings.HasPrefix(p, "\\") || path.Clean(p) != p || p == "." ||
		p == ".." || strings.HasPrefix(p, "../") || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("path %q is not a clean path inside the repository", p)
	}
	lower := strings.ToLower(p)
	for _, g := range alwaysDenied {
		if MatchGlob(strings.ToLower(g), lower) {
			return fmt.Errorf("path %q is always denied (%s), whatever the configuration says", p, g)
		}
	}
	for _, g := range a.DenyPaths {
		if MatchGlob(g, p) {
			return fmt.Errorf("path %q is denied by agent.deny_paths (%s)", p, g)
		}
	}
	if !MatchAnyGlob(a.AllowPaths, p) {
		return fmt.Errorf("path %q is outside agent.allow_paths", p)
	}
	return nil
}
