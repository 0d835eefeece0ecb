package checks

import (
	"fmt"
	"strings"
)

// dangerFlag marks deletes and replaces wherever a change is listed.
const dangerFlag = "⚠"

// symbol is terraform's plan symbol for an action.
func symbol(c ResourceChange) string {
	switch c.Action {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionDelete:
		return "-"
	case ActionReplace:
		if c.CreateBeforeDestroy {
			return "+/-"
		}
		return "-/+"
	case ActionRead:
		return "<="
	case ActionForget:
		return "."
	}
	return " "
}

// verb says what happens to the resource, after "will be".
func verb(c ResourceChange) string {
	switch c.Action {
	case ActionCreate:
		return "created"
	case ActionUpdate:
		return "updated in-place"
	case ActionDelete:
		return "destroyed"
	case ActionReplace:
		if c.CreateBeforeDestroy {
			return "replaced (create before destroy)"
		}
		return "replaced"
	case ActionRead:
		return "read during apply"
	case ActionForget:
		return "removed from state without being destroyed"
	}
	switch {
	case c.Importing:
		return "imported"
	case c.Moved():
		return "moved"
	}
	return "left unchanged"
}

// reasonText explains terraform's action_reason keywords; unknown ones are
// shown as they are.
func reasonText(reason string) string {
	switch reason {
	case "replace_because_tainted":
		return "tainted"
	case "replace_because_cannot_update":
		return "an attribute change forces replacement"
	case "replace_by_request":
		return "requested with -replace"
	case "replace_by_triggers":
		return "replace_triggered_by"
	case "delete_because_no_resource_config":
		return "no longer in the configuration"
	case "delete_because_wrong_repetition":
		return "count/for_each changed"
	case "delete_because_count_index":
		return "count index out of range"
	case "delete_because_each_key":
		return "key no longer in for_each"
	case "delete_because_no_module":
		return "its module is no longer in the configuration"
	case "delete_because_no_move_target":
		return "moved to an address with no configuration"
	case "read_because_config_unknown":
		return "configuration unknown until apply"
	case "read_because_dependency_pending":
		return "depends on pending changes"
	case "read_because_check_nested":
		return "in a check block"
	}
	return reason
}

// headline is the one-line description of a change, without its symbol:
// `aws_instance.web will be replaced (tainted; moved from aws_instance.old) ⚠`.
func headline(c ResourceChange) string {
	subject, predicate := describe(c)
	s := subject + " " + predicate
	if c.Dangerous() {
		s += " " + dangerFlag
	}
	return s
}

// describe splits a change's headline into its subject (the address) and
// what happens to it, with terraform's reasons and the move or import.
func describe(c ResourceChange) (subject, predicate string) {
	var notes []string
	if c.Reason != "" {
		notes = append(notes, reasonText(c.Reason))
	}
	if c.Moved() && c.Action != ActionNoOp {
		notes = append(notes, "moved from "+c.PreviousAddress)
	}
	if c.Importing && c.Action != ActionNoOp {
		notes = append(notes, "imported")
	}
	if c.Importing && c.ImportID != "" {
		notes = append(notes, "import id "+c.ImportID)
	}
	if c.Deposed != "" {
		notes = append(notes, "deposed object "+c.Deposed)
	}
	subject, predicate = c.Address, "will be "+verb(c)
	if c.Action == ActionNoOp && c.Moved() {
		subject, predicate = c.PreviousAddress, "has moved to "+c.Address
	}
	if len(notes) > 0 {
		predicate += " (" + strings.Join(notes, "; ") + ")"
	}
	return subject, predicate
}

// line is one line of a rendered change: a diff symbol and the text.
type line struct {
	sym  string
	text string
}

// changeLines renders a change as terraform-like lines: the headline, then
// one line per attribute.
func changeLines(c ResourceChange) []line {
	attrs, omitted := c.Attributes()
	lines := make([]line, 0, 1+len(attrs))
	lines = append(lines, line{symbol(c), headline(c)})
	return appendAttributeLines(lines, attrs, omitted)
}

func outputLines(o OutputChange) []line {
	sym := symbol(ResourceChange{Action: o.Action})
	lines := []line{{sym, "output " + o.Name + " will be " + verb(ResourceChange{Action: o.Action})}}
	return appendAttributeLines(lines, o.Attributes(), 0)
}

func appendAttributeLines(lines []line, attrs []AttributeChange, omitted int) []line {
	for _, a := range attrs {
		path := a.Path
		if path == "" {
			path = "value"
		}
		var l line
		switch {
		case a.Before != "" && a.After != "":
			l = line{"~", path + " = " + a.Before + " -> " + a.After}
		case a.After != "":
			l = line{"+", path + " = " + a.After}
		default:
			l = line{"-", path + " = " + a.Before}
		}
		if a.ForcesReplacement {
			l.text += " # forces replacement"
		}
		lines = append(lines, l)
	}
	if omitted > 0 {
		lines = append(lines, line{" ", fmt.Sprintf("# (%d more attributes not shown)", omitted)})
	}
	return lines
}

// diffText renders lines for a ```diff block: the symbol in the first column
// (so GitHub colours deletions and additions), attributes indented under
// their change.
func diffText(lines []line) string {
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l.sym)
		if i == 0 {
			b.WriteString(strings.Repeat(" ", max(1, 4-len(l.sym))))
		} else {
			b.WriteString(strings.Repeat(" ", max(1, 8-len(l.sym))))
		}
		// A line break inside a line (an import id, a map key) could end the
		// code block the lines are shown in.
		b.WriteString(strings.NewReplacer("\n", " ", "\r", " ").Replace(l.text))
		b.WriteByte('\n')
	}
	return b.String()
}

// countsPhrase describes plan counts the way a reviewer reads them:
// "3 to create, 1 to update, 1 to delete, 1 to replace, 2 moved".
func countsPhrase(c PlanCounts) string {
	parts := []string{
		fmt.Sprintf("%d to create", c.Create),
		fmt.Sprintf("%d to update", c.Update),
		fmt.Sprintf("%d to delete", c.Delete),
		fmt.Sprintf("%d to replace", c.Replace),
	}
	for _, extra := range []struct {
		n    int
		what string
	}{{c.Read, "to read"}, {c.Moved, "moved"}, {c.Import, "to import"}} {
		if extra.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", extra.n, extra.what))
		}
	}
	return strings.Join(parts, ", ")
}

func addCounts(a, b PlanCounts) PlanCounts {
	return PlanCounts{
		Create: a.Create + b.Create, Update: a.Update + b.Update, Delete: a.Delete + b.Delete,
		Replace: a.Replace + b.Replace, Read: a.Read + b.Read, NoOp: a.NoOp + b.NoOp,
		Moved: a.Moved + b.Moved, Import: a.Import + b.Import,
	}
}
