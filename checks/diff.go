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

// index returns the side of list element i (none for i < 0).
func (s side) index(i int) side {
	if i < 0 {
		return side{}
	}
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

// diffMode says which sides of a change are shown.
type diffMode int

const (
	modeNone   diffMode = iota // nothing (forgets, moves, no-ops)
	modeCreate                 // the after side: creates, reads, action configs
	modeDelete                 // the before side
	modeUpdate                 // what changes between the two
)

// changeValues are the raw sides of a change, kept for rendering its
// attributes on demand.
type changeValues struct {
	name          string // the output name, for outputs
	before, after side
	mode          diffMode
	replacePaths  []any
}

// tree diffs the sides into a tree of what changed; nil when nothing shows.
func (v changeValues) tree() *node {
	if v.mode == modeNone {
		return nil
	}
	d := differ{replace: replacePaths(v.replacePaths)}
	n := d.diff("", "", redact.Name(v.name), v.before, v.after)
	if n != nil && n.kind == objectNode && v.mode == modeUpdate {
		n.keepContext()
	}
	return n
}

func (v changeValues) attributes() ([]AttributeChange, int) {
	var out []AttributeChange
	omitted := 0
	v.tree().walkLeaves(func(n *node) {
		if len(out) >= maxAttributesPerChange {
			omitted++
			return
		}
		out = append(out, AttributeChange{Path: n.path, Before: n.before, After: n.after, ForcesReplacement: n.forces, Note: n.note})
	})
	return out, omitted
}

// Ops of a node: what happens to the value.
const (
	opSame   = ' '
	opCreate = '+'
	opDelete = '-'
	opUpdate = '~'
)

// nodeKind says how a node is shown.
type nodeKind int

const (
	leafNode   nodeKind = iota // one value on one line
	objectNode                 // { attributes }
	listNode                   // [ elements ]
)

// node is one value of a change: an attribute, a map entry or a list element.
type node struct {
	key  string // as shown: an identifier, a quoted map key, "" for list elements
	path string // as in AttributeChange.Path
	op   byte
	kind nodeKind
	// before and after are the rendered values of a leaf.
	before, after string
	forces        bool
	note          string
	children      []*node
	// hidden counts unchanged children left out.
	hidden int
	// context marks an unchanged child shown to identify the object (id, name).
	context bool
}

// walkLeaves calls f on every changed leaf, in order.
func (n *node) walkLeaves(f func(*node)) {
	if n == nil {
		return
	}
	if n.kind == leafNode {
		if n.op != opSame {
			f(n)
		}
		return
	}
	for _, c := range n.children {
		c.walkLeaves(f)
	}
}

// changed reports whether any leaf of the tree changed.
func (n *node) changed() bool {
	found := false
	n.walkLeaves(func(*node) { found = true })
	return found
}

// keepContext keeps, of an updated object's unchanged attributes, those that
// identify it (as terraform shows them): its id and name.
func (n *node) keepContext() {
	for _, c := range n.children {
		if c.op == opSame && c.kind == leafNode && (c.key == "id" || c.key == "name") && c.after != "" {
			c.context = true
			n.hidden--
		}
	}
}

// differ walks the before and after values of one change.
type differ struct {
	replace []string // attribute paths that force replacement
}

// diff returns the node of one value: unchanged (opSame) or changed, or nil
// when there is nothing on either side (null, absent, or an empty object or
// list next to nothing, which terraform does not show either).
func (d *differ) diff(key, path string, secret bool, b, a side) *node {
	if !b.present && !a.present && !a.isUnknown() {
		return nil
	}
	n := &node{key: key, path: path}
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
		n.kind = objectNode
		for _, k := range unionKeys(bm, am, au) {
			d.add(n, d.diff(displayKey(k), childPath(path, k), secret || redact.Name(k), b.child(k), a.child(k)))
		}
		return n.settle(b, a)
	case (bIsList || !b.present) && (aIsList || !a.present) && len(bl)+len(al)+len(ul) > 0:
		n.kind = listNode
		m := max(len(al), len(ul))
		eq := func(i, j int) bool { return sameElement(b.index(i), a.index(j)) }
		isObject := func(before bool, k int) bool {
			if before {
				_, ok := b.index(k).v.(map[string]any)
				return ok
			}
			_, ok := a.index(k).v.(map[string]any)
			return ok
		}
		for _, p := range matchElements(len(bl), m, eq, isObject) {
			idx := p[1]
			if idx < 0 {
				idx = p[0]
			}
			d.add(n, d.diff("", path+"["+strconv.Itoa(idx)+"]", secret, b.index(p[0]), a.index(p[1])))
		}
		return n.settle(b, a)
	case len(bm)+len(am)+len(bl)+len(al) == 0 && (bIsMap || bIsList || !b.present) && (aIsMap || aIsList || !a.present):
		return nil
	}
	n.before, n.after = renderSide(b, secret), renderSide(a, secret)
	n.forces = d.forcesReplacement(path)
	switch {
	case a.isUnknown():
		n.op = opUpdate
	case !b.present:
		n.op = opCreate
	case !a.present:
		n.op = opDelete
	case reflect.DeepEqual(b.v, a.v) && b.isSensitive() == a.isSensitive():
		n.op = opSame
	case reflect.DeepEqual(b.v, a.v):
		// Only the sensitivity changed: say so, without the value.
		n.op, n.before, n.after = opUpdate, sensitiveValue, sensitiveValue
		n.note = "now marked sensitive; the value is unchanged"
		if b.isSensitive() {
			n.note = "no longer marked sensitive; the value is unchanged"
		}
	default:
		n.op = opUpdate
	}
	if n.op == opUpdate && !b.present {
		n.op = opCreate
	}
	return n
}

// add adds a child, counting it as hidden when it did not change.
func (d *differ) add(parent, child *node) {
	switch {
	case child == nil:
	case child.op == opSame:
		parent.children = append(parent.children, child)
		parent.hidden++
	default:
		parent.children = append(parent.children, child)
	}
}

// settle sets a container's op from its sides and children.
func (n *node) settle(b, a side) *node {
	switch {
	case !b.present:
		n.op = opCreate
	case !a.present && !a.isUnknown():
		n.op = opDelete
	default:
		n.op = opSame
		for _, c := range n.children {
			if c.op != opSame {
				n.op = opUpdate
				break
			}
		}
	}
	return n
}

// sameElement reports whether two list elements are equal, unknown parts
// and sensitivity included: terraform's renderer matches list elements so.
func sameElement(b, a side) bool {
	if markerAny(a.unknown) || markerAny(b.sensitive) != markerAny(a.sensitive) {
		return false
	}
	return b.present == a.present && reflect.DeepEqual(b.v, a.v)
}

func (d *differ) forcesReplacement(path string) bool {
	for _, r := range d.replace {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
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

// displayKey is a map key as a diff line shows it: quoted unless it reads as
// an identifier, as in terraform's own output.
func displayKey(key string) string {
	if isIdentifier(key) {
		return key
	}
	return strconv.Quote(key)
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

// replacePaths renders terraform's replace_paths ([["ingress", 0, "cidr"]])
// in the attribute path notation of AttributeChange.
func replacePaths(raw []any) []string {
	var out []string
	for _, p := range raw {
		steps, ok := p.([]any)
		if !ok {
			continue
		}
		path := ""
		for _, s := range steps {
			switch v := s.(type) {
			case string:
				path = childPath(path, v)
			case json.Number:
				path += "[" + v.String() + "]"
			case float64:
				path += "[" + strconv.FormatFloat(v, 'f', -1, 64) + "]"
			}
		}
		out = append(out, path)
	}
	return out
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
