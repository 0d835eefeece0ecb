package policy

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// SensitivePlaceholder is what terraform shows instead of a sensitive value,
// and what replaces one in policy messages and metadata.
const SensitivePlaceholder = "(sensitive value)"

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
	m := masker{values: map[string]bool{}, lengths: map[byte][]int{}}
	add := func(s string) {
		if len(s) >= minSensitiveLen && !m.values[s] {
			m.values[s] = true
			m.lengths[s[0]] = append(m.lengths[s[0]], len(s))
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
	if len(m.values) == 0 {
		return func(s string) string { return s }
	}
	for b, ls := range m.lengths {
		// Longest first, so a value that contains another is masked whole.
		slices.SortFunc(ls, func(x, y int) int { return cmp.Compare(y, x) })
		m.lengths[b] = slices.Compact(ls)
	}
	return m.mask
}

// masker masks whole sensitive values in text.
type masker struct {
	values map[string]bool
	// lengths lists the lengths of the values by their first byte, longest
	// first.
	lengths map[byte][]int
}

// addressRE finds what reads as a Terraform address (null_resource.bar,
// module.net.aws_s3_bucket.logs["a"]): a sensitive value is never masked
// inside one, where it is only a name that happens to be equal.
var addressRE = regexp.MustCompile(`(?:[A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]]*\])?\.)+[A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]]*\])?`)

// mask replaces each whole occurrence of a sensitive value in s: one that
// neither starts nor ends inside a word, nor lies inside an address. A value
// is never masked inside another word ("bar" in "barn") or in an address
// ("bar" in null_resource.bar).
func (m masker) mask(s string) string {
	spans := addressRE.FindAllStringIndex(s, -1)
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if i > 0 && wordByte(s[i-1]) && wordByte(s[i]) {
			continue
		}
		for _, n := range m.lengths[s[i]] {
			j := i + n
			if j > len(s) || j < len(s) && wordByte(s[j]) && wordByte(s[j-1]) || !m.values[s[i:j]] || insideSpan(spans, i, j) {
				continue
			}
			b.WriteString(s[last:i])
			b.WriteString(SensitivePlaceholder)
			last = j
			i = j - 1
			break
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// insideSpan reports whether [i, j) lies within one of the spans without
// covering it whole.
func insideSpan(spans [][]int, i, j int) bool {
	for _, sp := range spans {
		if i < sp[1] && j > sp[0] && !(i <= sp[0] && j >= sp[1]) {
			return true
		}
	}
	return false
}

func wordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
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
