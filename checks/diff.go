package checks

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/infra-agent/infra-agent/checks/redact"
)

// Placeholders shown instead of values that must not or cannot be shown.
const (
	unknownValue   = "(known after apply)"
	sensitiveValue = "(sensitive value)"
	redactedValue  = redact.Marker
)

// Size bounds of one rendered change: a single huge attribute (an inline
// policy document, a user_data script) must not crowd out the rest of a plan.
const (
	maxValueBytes          = 1000
	maxAttributesPerChange = 200
)

// side is one side (before or after) of a value in a change, with the
// matching subtrees of terraform's sensitivity and unknown markers.
type side struct {
	v         any
	present   bool
	sensitive any
	unknown   any
}

func (s side) isSensitive() bool { return markerTrue(s.sensitive) }
func (s side) isUnknown() bool   { return markerTrue(s.unknown) }

// child returns the side of the map entry key.
func (s side) child(key string) side {
	c := side{sensitive: markerKey(s.sensitive, key), unknown: markerKey(s.unknown, key)}
	if m, ok := s.v.(map[string]any); ok {
		c.v, c.present = m[key]
		c.present = c.present && c.v != nil
	}
	return c
}

// index returns the side of list element i.
func (s side) index(i int) side {
	c := side{sensitive: markerIndex(s.sensitive, i), unknown: markerIndex(s.unknown, i)}
	if l, ok := s.v.([]any); ok && i < len(l) {
		c.v, c.present = l[i], l[i] != nil
	}
	return c
}

func markerTrue(m any) bool {
	b, ok := m.(bool)
	return ok && b
}

func markerKey(m any, key string) any {
	if mm, ok := m.(map[string]any); ok {
		return mm[key]
	}
	return nil
}

func markerIndex(m any, i int) any {
	if l, ok := m.([]any); ok && i < len(l) {
		return l[i]
	}
	return nil
}

// markerAny reports whether any leaf of a marker tree is true.
func markerAny(m any) bool {
	switch t := m.(type) {
	case bool:
		return t
	case map[string]any:
		for _, v := range t {
			if markerAny(v) {
				return true
			}
		}
	case []any:
		for _, v := range t {
			if markerAny(v) {
				return true
			}
		}
	}
	return false
}

// changeValues are the raw sides of a change, kept for rendering its
// attributes on demand.
type changeValues struct {
	name          string // the output name, for outputs
	before, after side
	changedOnly   bool
	replacePaths  []any
}

func (v changeValues) attributes() ([]AttributeChange, int) {
	return diffValues(v.name, v.before, v.after, v.changedOnly, replacePaths(v.replacePaths))
}

// differ walks the before and after values of one change and collects its
// leaf attribute changes.
type differ struct {
	changedOnly bool
	replace     []string // attribute paths that force replacement
	out         []AttributeChange
	omitted     int
}

// diffValues returns the leaf changes between before and after. With
// changedOnly, unchanged leaves are left out (updates and replaces).
func diffValues(name string, before, after side, changedOnly bool, replacePaths []string) ([]AttributeChange, int) {
	d := differ{changedOnly: changedOnly, replace: replacePaths}
	d.walk("", secretName(name), before, after)
	return d.out, d.omitted
}

func (d *differ) walk(path string, secret bool, b, a side) {
	if !b.present && !a.present && !a.isUnknown() {
		return
	}
	bm, bIsMap := b.v.(map[string]any)
	am, aIsMap := a.v.(map[string]any)
	bl, bIsList := b.v.([]any)
	al, aIsList := a.v.([]any)
	au, _ := a.unknown.(map[string]any)
	ul, _ := a.unknown.([]any)
	leaf := b.isSensitive() || a.isSensitive() || a.isUnknown()
	switch {
	case leaf:
	case (bIsMap || !b.present) && (aIsMap || !a.present) && len(bm)+len(am)+len(au) > 0:
		for _, k := range unionKeys(bm, am, au) {
			d.walk(childPath(path, k), secret || secretName(k), b.child(k), a.child(k))
		}
		return
	case (bIsList || !b.present) && (aIsList || !a.present) && len(bl)+len(al)+len(ul) > 0:
		for i := range max(len(bl), len(al), len(ul)) {
			d.walk(path+"["+strconv.Itoa(i)+"]", secret, b.index(i), a.index(i))
		}
		return
	case len(bm)+len(am)+len(bl)+len(al) == 0 && (bIsMap || bIsList || !b.present) && (aIsMap || aIsList || !a.present):
		// Empty objects and lists next to nothing are noise, as in
		// terraform's own plan output.
		return
	}
	if d.changedOnly && sameLeaf(b, a) {
		return
	}
	if len(d.out) >= maxAttributesPerChange {
		d.omitted++
		return
	}
	d.out = append(d.out, AttributeChange{
		Path:              path,
		Before:            renderSide(b, secret),
		After:             renderSide(a, secret),
		ForcesReplacement: d.forcesReplacement(path),
	})
}

func (d *differ) forcesReplacement(path string) bool {
	for _, r := range d.replace {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

func sameLeaf(b, a side) bool {
	if a.isUnknown() || b.present != a.present {
		return false
	}
	return reflect.DeepEqual(b.v, a.v)
}

func unionKeys(maps ...map[string]any) []string {
	seen := make(map[string]bool)
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// childPath appends a map key to an attribute path: as `.key` when it reads as
// an identifier, otherwise as `["key"]`.
func childPath(path, key string) string {
	if isIdentifier(key) {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || !(r == '-' || (r >= '0' && r <= '9'))) {
			return false
		}
	}
	return true
}

// renderSide renders one leaf value. secret says the attribute (or one of its
// parents) is named like a secret, so its strings are redacted even when
// terraform does not know them as sensitive.
func renderSide(s side, secret bool) string {
	switch {
	case s.isUnknown():
		return unknownValue
	case !s.present:
		return ""
	case s.isSensitive():
		return sensitiveValue
	}
	switch v := s.v.(type) {
	case string:
		if secret && v != "" {
			return redactedValue
		}
		return capValue(strconv.Quote(Redact(v)))
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	// A whole object or list shown as one value: against an unknown value or
	// a value of another type.
	if markerAny(s.sensitive) {
		return sensitiveValue
	}
	b, err := json.Marshal(s.v)
	if err != nil {
		return "(unrenderable value)"
	}
	if secret && len(b) > 2 {
		return redactedValue
	}
	return capValue(Redact(string(b)))
}

// capValue shortens a rendered value to maxValueBytes.
func capValue(s string) string { return truncate(s, maxValueBytes) }
