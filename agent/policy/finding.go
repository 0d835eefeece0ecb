package policy

import (
	"cmp"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/infra-agent/infra-agent/checks"
)

// Root says where a root module is on disk and how findings name its files.
type Root struct {
	// Dir is the root module's directory on disk.
	Dir string
	// Rel is the same directory relative to the repository, with forward
	// slashes; "." (or "") for the top.
	Rel string
}

// rel returns the root's repository-relative directory, cleaned.
func (r Root) rel() string {
	if r.Rel == "" {
		return "."
	}
	return joinRel(r.Rel)
}

// newFinding turns a hit into a finding without a location.
func newFinding(h hit, root string) checks.Finding {
	f := checks.Finding{
		Severity:  checks.SeverityFailure,
		Message:   h.result.Message,
		Source:    "policy",
		Policy:    h.rule.policy,
		Namespace: h.ns,
		Rule:      h.rule.name,
		Root:      root,
	}
	if len(h.result.Metadata) > 0 {
		f.Metadata = h.result.Metadata
		f.PolicyID = policyID(h.result.Metadata)
	}
	if h.warning {
		f.Severity = checks.SeverityWarning
	}
	return f
}

// policyID returns the rule id a result's metadata names, or "": the keys
// policy packs put it under, in order.
func policyID(meta map[string]any) string {
	for _, k := range []string{"policyId", "policy_id", "policyID", "id", "rule_id", "ruleId"} {
		switch v := meta[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// declaredLine returns the place a result's _loc names. Its file is relative
// to the root directory, def when it names none; ok is false without a file
// or a line, or for a file outside the repository.
func declaredLine(h hit, rootRel, def string) (file string, line int, ok bool) {
	loc := h.result.Location
	if loc == nil {
		return "", 0, false
	}
	n, err := loc.Line.Int64()
	if err != nil || n < 1 {
		return "", 0, false
	}
	file = def
	if loc.File != "" {
		file = joinRel(rootRel, filepath.ToSlash(loc.File))
	}
	if file == "" || outside(file) {
		return "", 0, false
	}
	return file, int(n), true
}

// declaredAddress returns the address a structured result names in its
// "address" (or "resource") key.
func declaredAddress(h hit) string {
	for _, key := range []string{"address", "resource"} {
		if s, ok := h.result.Metadata[key].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// sortFindings orders findings by file, line, namespace, rule and message.
func sortFindings(fs []checks.Finding) {
	slices.SortStableFunc(fs, func(a, b checks.Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
