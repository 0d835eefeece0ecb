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
	case ActionCreateForget:
		return "+/."
	case ActionNoOp:
		return " "
	}
	return "?"
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
	case ActionCreateForget:
		return "replaced; the old object is removed from state, not destroyed"
	case ActionNoOp:
		switch {
		case c.Importing:
			return "imported"
		case c.Moved():
			return "moved"
		}
		return "left unchanged"
	}
	return "changed (terraform actions " + strings.ReplaceAll(string(c.Action), "+", ", ") + ")"
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

// deferredText explains terraform's reasons for deferring a change.
func deferredText(reason string) string {
	switch reason {
	case "instance_count_unknown":
		return "the number of instances is not known yet"
	case "resource_config_unknown":
		return "its configuration is not known yet"
	case "provider_config_unknown":
		return "its provider's configuration is not known yet"
	case "deferred_prereq":
		return "something it depends on is deferred"
	case "absent_prereq":
		return "something it depends on does not exist yet"
	case "unknown", "":
		return "terraform gives no reason"
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
	switch {
	case c.Deferred != "":
		predicate = "is deferred to a later plan, where it would be " + verb(c)
		notes = append([]string{deferredText(c.Deferred)}, notes...)
	case c.Action == ActionNoOp && c.Moved():
		subject, predicate = c.PreviousAddress, "has moved to "+c.Address
	}
	if len(notes) > 0 {
		predicate += " (" + strings.Join(notes, "; ") + ")"
	}
	return subject, predicate
}

// actionHeadline describes an action invocation:
// "action.notify.slack will be invoked (after_create of aws_instance.web)".
func actionHeadline(a ActionInvocation) string {
	if a.Deferred != "" {
		return a.Address + " is deferred to a later plan, where it would be invoked (" + deferredText(a.Deferred) + "; " + a.Trigger + ")"
	}
	return a.Address + " will be invoked (" + a.Trigger + ")"
}

// countsPhrase describes plan counts the way a reviewer reads them:
// "3 to create, 1 to update, 1 to delete, 1 to replace, 1 to forget, 2 moved".
// The four contract counts are always there; the others when not zero.
func countsPhrase(c PlanCounts) string {
	parts := []string{
		fmt.Sprintf("%d to create", c.Create),
		fmt.Sprintf("%d to update", c.Update),
		fmt.Sprintf("%d to delete", c.Delete),
		fmt.Sprintf("%d to replace", c.Replace),
	}
	return strings.Join(append(parts, extraCounts(c)...), ", ")
}

// extraCounts lists the counts beyond the four of the contract, when not
// zero: "2 to read", "1 to forget", "1 moved", "1 to import",
// "1 action to invoke", "2 outputs to change", "3 deferred".
func extraCounts(c PlanCounts) []string {
	var parts []string
	for _, x := range []struct {
		n         int
		one, many string
	}{
		{c.Read, "to read", "to read"}, {c.Forget, "to forget", "to forget"},
		{c.Moved, "moved", "moved"}, {c.Import, "to import", "to import"},
		{c.Actions, "action to invoke", "actions to invoke"},
		{c.Outputs, "output to change", "outputs to change"},
		{c.Other, "other change", "other changes"},
		{c.Deferred, "deferred", "deferred"},
	} {
		switch {
		case x.n == 1:
			parts = append(parts, "1 "+x.one)
		case x.n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.many))
		}
	}
	return parts
}

// planPhrase is what a plan does in a few words: its counts, or terraform's
// "no changes" (with what was deferred), never "no changes" for a plan that
// changes anything.
func planPhrase(c PlanCounts) string {
	switch {
	case c.Changes():
		return countsPhrase(c)
	case c.Deferred > 0:
		return "no current changes; " + plural(c.Deferred, "change") + " deferred to a later plan"
	}
	return "no changes"
}

// Phrase is what a plan does in a few words: "2 to create, 0 to update, 0
// to delete, 1 to replace, 1 moved", or "no changes".
func (c PlanCounts) Phrase() string { return planPhrase(c) }

func addCounts(a, b PlanCounts) PlanCounts {
	return PlanCounts{
		Create: a.Create + b.Create, Update: a.Update + b.Update, Delete: a.Delete + b.Delete,
		Replace: a.Replace + b.Replace, Read: a.Read + b.Read, NoOp: a.NoOp + b.NoOp,
		Moved: a.Moved + b.Moved, Import: a.Import + b.Import, Forget: a.Forget + b.Forget,
		Deferred: a.Deferred + b.Deferred, Actions: a.Actions + b.Actions, Outputs: a.Outputs + b.Outputs,
		Other: a.Other + b.Other,
	}
}
