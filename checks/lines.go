package checks

import (
	"fmt"
	"strings"
)

// line is one line of a rendered change: a diff symbol, how deep it is
// nested (0 for the headline), and the text.
type line struct {
	sym   string
	depth int
	text  string
}

// maxUnknownNames bounds the names listed on the one line that stands for a
// created object's values known only after apply.
const maxUnknownNames = 12

// changeLines renders a change as terraform renders it, in the lines of a
// diff: the headline, then what changes, nested as the values are, with
// unchanged attributes and list elements hidden and counted, and a created
// object's values known only after apply on one line.
func changeLines(c ResourceChange) []line {
	lines := []line{{symbol(c), 0, headline(c)}}
	tree := c.values.tree()
	if c.values.mode == modeUpdate && c.Deferred == "" && !tree.changed() {
		lines = append(lines, line{" ", 1, "# (terraform plans this change, but no attribute value it shows differs)"})
	}
	return append(lines, treeLines(tree, false)...)
}

// outputLines renders an output change: its headline and value.
func outputLines(o OutputChange) []line {
	rc := ResourceChange{Action: o.Action}
	return append([]line{{symbol(rc), 0, "output " + o.Name + " will be " + verb(rc)}}, treeLines(o.values.tree(), false)...)
}

// actionLines renders an action invocation and its configuration.
func actionLines(a ActionInvocation) []line {
	return append([]line{{"!", 0, actionHeadline(a)}}, treeLines(a.values.tree(), true)...)
}

// treeLines renders the body of a change: the children of its root value
// (or the root itself when it is one value), at most maxAttributesPerChange
// lines. config renders values without symbols (an action's configuration
// is not a change).
func treeLines(root *node, config bool) []line {
	if root == nil {
		return nil
	}
	w := lineWriter{config: config}
	if root.kind == leafNode {
		root.key = "value"
		w.node(root, 1, false)
	} else {
		w.children(root, 1)
	}
	if n := len(w.lines) - maxAttributesPerChange; n > 0 {
		w.lines = append(w.lines[:maxAttributesPerChange], line{" ", 1, fmt.Sprintf("# (%d more lines not shown)", n)})
	}
	return w.lines
}

// lineWriter collects the lines of a value tree.
type lineWriter struct {
	config bool
	lines  []line
}

func (w *lineWriter) add(op byte, depth int, text string) {
	sym := string(op)
	if w.config {
		sym = " "
	}
	w.lines = append(w.lines, line{sym, depth, text})
}

// node writes one value at depth; inList says it is a list element (no key,
// a trailing comma).
func (w *lineWriter) node(n *node, depth int, inList bool) {
	prefix, comma := n.key+" = ", ""
	if inList {
		prefix, comma = "", ","
	}
	switch n.kind {
	case leafNode:
		var suffix string
		if n.forces {
			suffix += " # forces replacement"
		}
		if n.note != "" {
			suffix += " # " + n.note
		}
		if inList && n.op == opUpdate && n.note == "" && n.after != unknownValue {
			// terraform shows a changed list element as one removed and one
			// added: elements have no identity to update.
			w.add(opDelete, depth, n.before+comma+suffix)
			w.add(opCreate, depth, n.after+comma+suffix)
			return
		}
		w.add(n.op, depth, prefix+leafText(n)+comma+suffix)
	case objectNode:
		w.add(n.op, depth, prefix+"{")
		w.children(n, depth+1)
		w.add(opSame, depth, "}"+comma)
	case listNode:
		w.add(n.op, depth, prefix+"[")
		w.children(n, depth+1)
		w.add(opSame, depth, "]"+comma)
	}
}

// children writes a container's changed children (and the unchanged ones that
// identify it), then how many unchanged ones it hides. In a created object,
// the values known only after apply share one line.
func (w *lineWriter) children(n *node, depth int) {
	var unknown []string
	for _, c := range n.children {
		switch {
		case c.op == opSame && !c.context:
			continue
		case n.op == opCreate && c.kind == leafNode && c.after == unknownValue && n.kind == objectNode:
			unknown = append(unknown, c.key)
			continue
		}
		w.node(c, depth, n.kind == listNode)
	}
	switch {
	case len(unknown) == 1:
		w.add(opCreate, depth, unknown[0]+" = "+unknownValue)
	case len(unknown) > maxUnknownNames:
		w.add(opCreate, depth, fmt.Sprintf("%s and %d more = %s", strings.Join(unknown[:maxUnknownNames], ", "),
			len(unknown)-maxUnknownNames, unknownValue))
	case len(unknown) > 1:
		w.add(opCreate, depth, strings.Join(unknown, ", ")+" = "+unknownValue)
	}
	if n.hidden > 0 {
		what := "attribute"
		if n.kind == listNode {
			what = "element"
		}
		w.add(opSame, depth, fmt.Sprintf("# (%s hidden)", plural(n.hidden, "unchanged "+what)))
	}
}

// leafText is a leaf's value as a diff line shows it.
func leafText(n *node) string {
	switch n.op {
	case opCreate:
		return n.after
	case opDelete:
		return n.before
	case opUpdate:
		return n.before + " -> " + n.after
	}
	return n.after
}

// diffText renders lines for a ```diff block: the symbol in the first column
// (so GitHub colours deletions and additions), each level of nesting
// indented four more columns.
func diffText(lines []line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.sym)
		b.WriteString(strings.Repeat(" ", max(1, 4+4*l.depth-len(l.sym))))
		// A line break inside a line (an import id, a map key) could end the
		// code block the lines are shown in.
		b.WriteString(strings.NewReplacer("\n", " ", "\r", " ").Replace(l.text))
		b.WriteByte('\n')
	}
	return b.String()
}
