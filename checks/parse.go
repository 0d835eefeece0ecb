package checks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf16"

	tfjson "github.com/hashicorp/terraform-json"
)

// planDocument is the part of `terraform show -json` rendering needs, in
// terraform-json's types. planned_values, prior_state and configuration make
// up half of a plan's bytes; they are scanned, not decoded (all but the
// outputs' sensitivity), which halves the parse time of large plans.
type planDocument struct {
	FormatVersion    string                    `json:"format_version"`
	TerraformVersion string                    `json:"terraform_version"`
	PlannedValues    *plannedValues            `json:"planned_values"`
	ResourceChanges  []*tfjson.ResourceChange  `json:"resource_changes"`
	OutputChanges    map[string]*tfjson.Change `json:"output_changes"`
	Config           json.RawMessage           `json:"configuration"`
}

// plannedValues keeps of planned_values which outputs are sensitive: plans
// of format 0.1 mark them only there, not in output_changes.
type plannedValues struct {
	Outputs map[string]struct {
		Sensitive bool `json:"sensitive"`
	} `json:"outputs"`
}

// ParsePlan parses the output of `terraform show -json PLANFILE` (Terraform
// 0.12 onwards, plan format versions 0.1 to 1.x) into the render model. Input
// in UTF-16 (with a byte order mark, as PowerShell's `>` writes it) or with a
// UTF-8 byte order mark is decoded first. Malformed JSON, a document that is
// not a plan, and unsupported format versions are errors that say so.
func ParsePlan(data []byte) (*Plan, error) {
	data, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("parsing plan JSON: the input is empty")
	}
	var doc planDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keeps 64-bit ids and big numbers exact
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", describeJSONError(data, err, dec.InputOffset()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing plan JSON: %w", describeJSONError(data,
			errors.New("unexpected data after the end of the plan document"), dec.InputOffset()))
	}
	if err := (&tfjson.Plan{FormatVersion: doc.FormatVersion}).Validate(); err != nil {
		return nil, fmt.Errorf("parsing plan JSON: %w", err)
	}
	if doc.PlannedValues == nil && doc.ResourceChanges == nil && doc.OutputChanges == nil && doc.Config == nil {
		return nil, errors.New("parsing plan JSON: no planned_values, resource_changes, output_changes or configuration: " +
			"this is not `terraform show -json` of a saved plan (is it the JSON of a state?)")
	}
	p := &Plan{FormatVersion: doc.FormatVersion, TerraformVersion: doc.TerraformVersion}
	for _, rc := range doc.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		c := convertChange(rc)
		countChange(&p.Counts, c)
		if c.Action == ActionNoOp && !c.Moved() && !c.Importing {
			continue
		}
		p.Changes = append(p.Changes, c)
	}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		return actionRank(p.Changes[i].Action) < actionRank(p.Changes[j].Action)
	})
	p.Outputs = convertOutputs(doc.OutputChanges, doc.PlannedValues)
	return p, nil
}

// actionRank orders changes for review: what destroys first.
func actionRank(a Action) int {
	switch a {
	case ActionDelete:
		return 0
	case ActionReplace:
		return 1
	}
	return 2
}

func countChange(c *PlanCounts, rc ResourceChange) {
	switch rc.Action {
	case ActionCreate:
		c.Create++
	case ActionUpdate:
		c.Update++
	case ActionDelete:
		c.Delete++
	case ActionReplace:
		c.Replace++
	case ActionRead:
		c.Read++
	case ActionNoOp:
		c.NoOp++
	}
	if rc.Moved() {
		c.Moved++
	}
	if rc.Importing {
		c.Import++
	}
}

func actionOf(a tfjson.Actions) (Action, bool) {
	switch {
	case a.Create():
		return ActionCreate, false
	case a.Update():
		return ActionUpdate, false
	case a.Delete():
		return ActionDelete, false
	case a.DestroyBeforeCreate():
		return ActionReplace, false
	case a.CreateBeforeDestroy():
		return ActionReplace, true
	case a.Read():
		return ActionRead, false
	case a.Forget():
		return ActionForget, false
	}
	return ActionNoOp, false
}

func convertChange(rc *tfjson.ResourceChange) ResourceChange {
	ch := rc.Change
	action, cbd := actionOf(ch.Actions)
	c := ResourceChange{
		Address:             rc.Address,
		PreviousAddress:     rc.PreviousAddress,
		Action:              action,
		CreateBeforeDestroy: cbd,
		Reason:              string(rc.ActionReason),
		Deposed:             rc.DeposedKey,
	}
	if ch.Importing != nil {
		c.Importing, c.ImportID = true, ch.Importing.ID
	}
	c.values = valuesOf("", action, ch)
	return c
}

// valuesOf keeps the sides of a change that its attributes are rendered from:
// creates and reads show what will be, deletes what was, updates and
// replaces what changes.
func valuesOf(name string, action Action, ch *tfjson.Change) changeValues {
	v := changeValues{name: name}
	before := side{v: ch.Before, present: ch.Before != nil, sensitive: ch.BeforeSensitive}
	after := side{v: ch.After, present: ch.After != nil, sensitive: ch.AfterSensitive, unknown: ch.AfterUnknown}
	switch action {
	case ActionCreate, ActionRead:
		v.after = after
	case ActionDelete:
		v.before = before
	case ActionUpdate, ActionReplace:
		v.before, v.after, v.changedOnly, v.replacePaths = before, after, true, ch.ReplacePaths
	}
	return v
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

func convertOutputs(raw map[string]*tfjson.Change, planned *plannedValues) []OutputChange {
	names := make([]string, 0, len(raw))
	for name, ch := range raw {
		if ch != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []OutputChange
	for _, name := range names {
		ch := raw[name]
		action, _ := actionOf(ch.Actions)
		if action == ActionNoOp {
			continue
		}
		v := valuesOf(name, action, ch)
		if planned != nil && planned.Outputs[name].Sensitive {
			v.before.sensitive, v.after.sensitive = true, true
		}
		out = append(out, OutputChange{Name: name, Action: action, values: v})
	}
	return out
}

// decodeText returns data as UTF-8 without a byte order mark.
func decodeText(data []byte) ([]byte, error) {
	var bigEndian bool
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		data = data[2:]
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		data, bigEndian = data[2:], true
	case len(data) >= 2 && data[0] != 0 && data[1] == 0: // UTF-16LE without a mark: JSON starts with ASCII
	case len(data) >= 2 && data[0] == 0 && data[1] != 0:
		bigEndian = true
	default:
		return data, nil
	}
	if len(data)%2 != 0 {
		return nil, errors.New("parsing plan JSON: the input looks like UTF-16 but has an odd number of bytes")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return []byte(string(utf16.Decode(units))), nil
}

// describeJSONError adds the line and column to JSON errors, which
// encoding/json reports as a byte offset (of a syntax error, else of the
// decoder).
func describeJSONError(data []byte, err error, offset int64) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		offset = syn.Offset
	}
	off := min(max(int(offset), 0), len(data))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}
