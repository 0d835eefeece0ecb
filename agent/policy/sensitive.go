package policy

import (
	"cmp"
	"slices"
	"strings"
)

// sensitivePlaceholder is what terraform shows instead of a sensitive value.
const sensitivePlaceholder = "(sensitive value)"

// minSensitiveLen is the shortest sensitive value masked in messages: a
// one- or two-character value would mask ordinary words and digits.
const minSensitiveLen = 3

// sensitiveMasker returns a function that replaces, in a policy message, the
// values the plan marks sensitive. `terraform show -json` writes them in
// clear text next to their markers (resource changes, planned values and the
// prior state's resources and outputs, sensitive variables), so a policy
// that quotes its input would otherwise put them in a check run; secret
// redaction only catches the values that look like secrets.
func sensitiveMasker(plan any) func(string) string {
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSensitiveLen {
			seen[s] = true
		}
	}
	doc, _ := plan.(map[string]any)
	rcs, _ := doc["resource_changes"].([]any)
	for _, rc := range rcs {
		ch, _ := field(rc, "change").(map[string]any)
		collectSensitive(ch["before"], ch["before_sensitive"], false, add)
		collectSensitive(ch["after"], ch["after_sensitive"], false, add)
	}
	if ocs, ok := doc["output_changes"].(map[string]any); ok {
		for _, oc := range ocs {
			ch, _ := oc.(map[string]any)
			collectSensitive(ch["before"], ch["before_sensitive"], false, add)
			collectSensitive(ch["after"], ch["after_sensitive"], false, add)
		}
	}
	for _, values := range []any{field(doc["planned_values"], ""), field(doc["prior_state"], "values")} {
		collectModuleValues(values, add)
	}
	vars, _ := field(field(doc["configuration"], "root_module"), "variables").(map[string]any)
	for name, v := range vars {
		if sensitive, _ := field(v, "sensitive").(bool); sensitive {
			collectSensitive(field(field(doc["variables"], name), "value"), true, false, add)
			collectSensitive(field(v, "default"), true, false, add)
		}
	}
	if len(seen) == 0 {
		return func(s string) string { return s }
	}
	// Longest first, so a value that contains another is masked whole.
	values := make([]string, 0, len(seen))
	for s := range seen {
		values = append(values, s)
	}
	slices.SortFunc(values, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(values))
	for _, s := range values {
		pairs = append(pairs, s, sensitivePlaceholder)
	}
	return strings.NewReplacer(pairs...).Replace
}

// collectModuleValues collects the sensitive values of a values document
// ({"outputs", "root_module"}): outputs marked sensitive, and resources'
// values under their sensitive_values markers, in every child module.
func collectModuleValues(values any, add func(string)) {
	outs, _ := field(values, "outputs").(map[string]any)
	for _, o := range outs {
		if sensitive, _ := field(o, "sensitive").(bool); sensitive {
			collectSensitive(field(o, "value"), true, false, add)
		}
	}
	var walk func(module any)
	walk = func(module any) {
		rs, _ := field(module, "resources").([]any)
		for _, r := range rs {
			collectSensitive(field(r, "values"), field(r, "sensitive_values"), false, add)
		}
		children, _ := field(module, "child_modules").([]any)
		for _, c := range children {
			walk(c)
		}
	}
	walk(field(values, "root_module"))
}

// collectSensitive adds the string leaves of value that marker (terraform's
// sensitivity tree: true, or objects and lists of markers) marks sensitive.
// Numbers and booleans are left out: masking "1" or "true" in a message
// would hide more than it protects.
func collectSensitive(value, marker any, under bool, add func(string)) {
	if b, ok := marker.(bool); ok && b {
		under = true
	}
	switch v := value.(type) {
	case string:
		if under {
			add(v)
		}
	case map[string]any:
		for k, child := range v {
			collectSensitive(child, field(marker, k), under, add)
		}
	case []any:
		for i, child := range v {
			var m any
			if l, ok := marker.([]any); ok && i < len(l) {
				m = l[i]
			}
			collectSensitive(child, m, under, add)
		}
	}
}

// field returns obj[key] for a JSON object, else nil; an empty key returns
// obj itself.
func field(obj any, key string) any {
	if key == "" {
		return obj
	}
	m, _ := obj.(map[string]any)
	return m[key]
}
