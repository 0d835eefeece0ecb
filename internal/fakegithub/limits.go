package fakegithub

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// GitHub's documented limits on check runs. Most are also in the OpenAPI description; they are enforced here as
// well so the fake keeps enforcing them whatever a regenerated description says.
const (
	maxOutputText          = 65535 // characters in output.summary and output.text
	maxAnnotations         = 50    // annotations per request
	maxAnnotationBytes     = 64 << 10
	maxAnnotationTitle     = 255
	maxActions             = 3
	maxActionLabel         = 20
	maxActionDescription   = 40
	maxActionIdentifier    = 20
	annotationLevelMessage = "annotation_level must be notice, warning or failure"
)

// checkRunLimits enforces the rules of POST and PATCH check-runs that a JSON schema does not fully express.
func checkRunLimits(c *call, b *checkRunBody) *reply {
	fail := func(field, format string, args ...any) *reply {
		r := invalid(c, "CheckRun", field, fmt.Sprintf(format, args...))
		return &r
	}
	if b.Status != nil && *b.Status == "completed" && b.Conclusion == nil {
		return fail("conclusion", "conclusion is required when status is completed")
	}
	if o := b.Output; o != nil {
		if n := utf8.RuneCountInString(o.Summary); n > maxOutputText {
			return fail("output.summary", "output.summary is %d characters; the maximum is %d", n, maxOutputText)
		}
		if o.Text != nil {
			if n := utf8.RuneCountInString(*o.Text); n > maxOutputText {
				return fail("output.text", "output.text is %d characters; the maximum is %d", n, maxOutputText)
			}
		}
		if n := len(o.Annotations); n > maxAnnotations {
			return fail("output.annotations", "%d annotations in one request; the maximum is %d (send the rest "+
				"in further updates)", n, maxAnnotations)
		}
		for i, a := range o.Annotations {
			if rep := annotationLimits(fail, i, a); rep != nil {
				return rep
			}
		}
	}
	if b.Actions != nil {
		if n := len(*b.Actions); n > maxActions {
			return fail("actions", "%d actions; the maximum is %d", n, maxActions)
		}
		for i, a := range *b.Actions {
			field := "actions[" + strconv.Itoa(i) + "]"
			switch {
			case utf8.RuneCountInString(a.Label) > maxActionLabel:
				return fail(field+".label", "action label %q exceeds %d characters", a.Label, maxActionLabel)
			case utf8.RuneCountInString(a.Description) > maxActionDescription:
				return fail(field+".description", "action description %q exceeds %d characters",
					a.Description, maxActionDescription)
			case utf8.RuneCountInString(a.Identifier) > maxActionIdentifier:
				return fail(field+".identifier", "action identifier %q exceeds %d characters",
					a.Identifier, maxActionIdentifier)
			}
		}
	}
	return nil
}

func annotationLimits(fail func(field, format string, args ...any) *reply, i int, a annotationBody) *reply {
	field := "output.annotations[" + strconv.Itoa(i) + "]"
	switch {
	case !slices.Contains([]string{"notice", "warning", "failure"}, a.AnnotationLevel):
		return fail(field+".annotation_level", "%s, got %q", annotationLevelMessage, a.AnnotationLevel)
	case a.StartLine < 1 || a.EndLine < a.StartLine:
		return fail(field+".start_line", "lines %d-%d: start_line must be at least 1 and at most end_line",
			a.StartLine, a.EndLine)
	case (a.StartColumn != 0 || a.EndColumn != 0) && a.StartLine != a.EndLine:
		return fail(field+".start_column", "start_column and end_column are only allowed when start_line "+
			"equals end_line (lines %d-%d)", a.StartLine, a.EndLine)
	case a.StartColumn != 0 && a.EndColumn != 0 && a.EndColumn < a.StartColumn:
		return fail(field+".end_column", "end_column %d is before start_column %d", a.EndColumn, a.StartColumn)
	case len(a.Message) > maxAnnotationBytes:
		return fail(field+".message", "message is %d bytes; the maximum is 64 KB", len(a.Message))
	case len(a.RawDetails) > maxAnnotationBytes:
		return fail(field+".raw_details", "raw_details is %d bytes; the maximum is 64 KB", len(a.RawDetails))
	case utf8.RuneCountInString(a.Title) > maxAnnotationTitle:
		return fail(field+".title", "title exceeds %d characters", maxAnnotationTitle)
	}
	return nil
}
