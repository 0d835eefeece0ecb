package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/redact"
)

const corpusDir = "../../testdata/corpus"

// TestCorpus walks every JSON document of the corpus (plans of terraform
// 0.12 to 1.16 and OpenTofu's format, states, corrupt documents) through the
// decode, the render model, the policies on the plan and every rendering, as
// the pipeline does, and checks that nothing panics, that the counts equal
// an independent count over the documents (and terraform's own "Plan:" line
// where the corpus has it), that outputs stay within GitHub's limits, that
// "no changes" is said only where terraform would, and that no sensitive or
// secret value is shown.
func TestCorpus(t *testing.T) {
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: []string{filepath.Join(corpusDir, "policy", "plan")}})
	if err != nil {
		t.Fatal(err)
	}
	files := corpusDocuments(t)
	if len(files) < 70 {
		t.Fatalf("found %d documents in the corpus", len(files))
	}
	plans := 0
	for _, file := range files {
		rel, _ := filepath.Rel(corpusDir, file)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc, isPlan := independentRead(data)
			p, err := checks.ParsePlan(data)
			switch {
			case err != nil && isPlan:
				t.Fatalf("a plan document was refused: %v", err)
			case err != nil:
				if !strings.HasPrefix(err.Error(), "parsing plan JSON: ") {
					t.Errorf("error %q does not say what failed", err)
				}
				return
			case !isPlan:
				t.Fatalf("a document that is not a plan was accepted: %+v", p.Counts)
			}
			plans++
			checkTruncations(t, data)
			if want := independentCounts(doc); !reflect.DeepEqual(p.Counts, want) {
				t.Errorf("counts %+v\nwant   %+v", p.Counts, want)
			}
			checkTerraformsOwnCounts(t, file, p.Counts)
			walkRendered(t, engine, file, doc, p)
		})
	}
	if plans < 50 {
		t.Errorf("only %d documents of the corpus were plans", plans)
	}
}

// checkTruncations cuts a plan at eight places: each is refused as
// truncated, at its end, without a panic.
func checkTruncations(t *testing.T, data []byte) {
	t.Helper()
	for k := 1; k < 9; k++ {
		cut := data[:len(data)*k/9]
		_, err := checks.ParsePlan(cut)
		if err == nil || !strings.Contains(err.Error(), "the plan output was truncated") ||
			!strings.Contains(err.Error(), fmt.Sprintf("after %d bytes", len(cut))) {
			t.Errorf("plan cut after %d bytes: %v", len(cut), err)
		}
	}
}

// corpusDocuments lists the JSON documents of the corpus, but its golden
// files.
func corpusDocuments(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".json") && !strings.Contains(filepath.ToSlash(p), "/golden/") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// independentRead decodes a document with encoding/json alone and says
// whether it is a plan: an object with a format version and one of a plan's
// parts.
func independentRead(data []byte) (map[string]any, bool) {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	if _, ok := doc["format_version"].(string); !ok {
		return doc, false
	}
	for _, k := range []string{"planned_values", "resource_changes", "output_changes", "configuration", "action_invocations"} {
		if doc[k] != nil {
			return doc, true
		}
	}
	return doc, false
}

// independentCounts counts what a plan does from its documented JSON, every
// action kind of resource_changes[].change.actions, without the renderer's
// code.
func independentCounts(doc map[string]any) checks.PlanCounts {
	var c checks.PlanCounts
	rcs, _ := doc["resource_changes"].([]any)
	for _, x := range rcs {
		rc, _ := x.(map[string]any)
		ch, ok := rc["change"].(map[string]any)
		if !ok {
			continue
		}
		var acts []string
		for _, a := range ch["actions"].([]any) {
			acts = append(acts, a.(string))
		}
		switch strings.Join(acts, ",") {
		case "create":
			c.Create++
		case "update":
			c.Update++
		case "delete":
			if rc["mode"] == "data" {
				continue // terraform neither shows nor performs it
			}
			c.Delete++
		case "delete,create", "create,delete":
			c.Replace++
		case "read":
			c.Read++
		case "no-op", "":
			c.NoOp++
		case "forget":
			c.Forget++
		case "create,forget":
			c.Create++
			c.Forget++
		default:
			c.Other++
		}
		if prev, _ := rc["previous_address"].(string); prev != "" && prev != rc["address"] {
			c.Moved++
		}
		if _, ok := ch["importing"].(map[string]any); ok {
			c.Import++
		}
	}
	for _, k := range []string{"deferred_changes", "deferred_action_invocations"} {
		l, _ := doc[k].([]any)
		c.Deferred += len(l)
	}
	ai, _ := doc["action_invocations"].([]any)
	c.Actions = len(ai)
	ocs, _ := doc["output_changes"].(map[string]any)
	prior, _ := doc["prior_state"].(map[string]any)
	priorValues, _ := prior["values"].(map[string]any)
	priorOutputs, _ := priorValues["outputs"].(map[string]any)
	for name, x := range ocs {
		oc, _ := x.(map[string]any)
		acts := fmt.Sprint(oc["actions"])
		if acts == "[no-op]" {
			continue
		}
		// terraform 0.12 lists every output as created; one the prior state
		// already holds with that value does not change.
		if po, ok := priorOutputs[name].(map[string]any); ok && acts == "[create]" &&
			oc["after_unknown"] != true && reflect.DeepEqual(po["value"], oc["after"]) {
			continue
		}
		c.Outputs++
	}
	return c
}

// planLine matches terraform's own count line.
var planLine = regexp.MustCompile(`Plan: (?:(\d+) to import, )?(\d+) to add, (\d+) to change, (\d+) to destroy\.(?: Actions: (\d+) to invoke\.)?`)

// checkTerraformsOwnCounts compares the counts with terraform's rendering of
// the same plan (NAME.plan.txt beside NAME.plan.json), where there is one:
// terraform adds a replace to both "to add" and "to destroy".
func checkTerraformsOwnCounts(t *testing.T, file string, c checks.PlanCounts) {
	t.Helper()
	human, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".txt")
	if err != nil {
		return
	}
	text := string(human)
	switch m := planLine.FindStringSubmatch(text); {
	case m != nil:
		n := func(s string) int { v, _ := strconv.Atoi(s); return v }
		got := []int{c.Import, c.Create + c.Replace, c.Update, c.Delete + c.Replace, c.Actions}
		want := []int{n(m[1]), n(m[2]), n(m[3]), n(m[4]), n(m[5])}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("counts %+v disagree with terraform's %q", c, m[0])
		}
	case strings.Contains(text, "Changes to Outputs:"):
		if c.Outputs == 0 {
			t.Errorf("terraform shows output changes, the counts none: %+v", c)
		}
	case strings.Contains(text, "No changes."):
		if c.Changes() {
			t.Errorf("terraform says no changes, the counts say %+v", c)
		}
	}
}

// walkRendered renders the plan, with the plan policies' findings, in every
// form and checks each.
func walkRendered(t *testing.T, engine *policy.Engine, file string, doc map[string]any, p *checks.Plan) {
	t.Helper()
	findings, err := engine.CheckPlanDocument(context.Background(), policy.Root{Dir: filepath.Dir(file), Rel: "corpus"}, p.Document())
	if err != nil {
		t.Fatalf("policies on the plan: %v", err)
	}
	r := checks.Report{Roots: []checks.RootResult{{Dir: "corpus", Plan: p, Findings: findings,
		Steps: []checks.Step{{Name: checks.StepPlan, Status: checks.StepOK}, {Name: checks.StepPolicyPlan, Status: checks.StepOK}}}}}
	planOut, policyOut := checks.PlanCheck(r), checks.PolicyCheck(r)
	for _, out := range []checks.CheckOutput{planOut, policyOut} {
		if out.Title == "" || out.Summary == "" || len(out.Summary) > checks.MaxOutputChars || len(out.Text) > checks.MaxOutputChars ||
			len(out.Annotations) > checks.MaxAnnotations {
			t.Errorf("output beyond GitHub's limits: title %q, summary %d, text %d bytes, %d annotations",
				out.Title, len(out.Summary), len(out.Text), len(out.Annotations))
		}
	}
	switch {
	case p.Errored && planOut.Conclusion != checks.ConclusionFailure:
		t.Errorf("an errored plan concludes %s", planOut.Conclusion)
	case p.Counts.Changes() && strings.Contains(strings.ToLower(planOut.Title), "no changes"):
		t.Errorf("title %q for a plan that changes %+v", planOut.Title, p.Counts)
	case !p.Counts.Changes() && p.Counts.Deferred == 0 && !p.Errored && planOut.Title != "No changes":
		t.Errorf("title %q for a plan without changes", planOut.Title)
	}
	js, err := checks.RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]string{
		"plan check": describe(planOut), "policy check": describe(policyOut), "json": string(js),
		"text": checks.RenderText(r, false), "markdown": checks.RenderMarkdown(r),
	}
	sensitive, shown := sensitiveStrings(doc)
	for what, text := range rendered {
		if again := redact.String(text); again != text {
			t.Errorf("%s shows a secret-looking value: redaction changes it", what)
		}
		for v := range sensitive {
			if strings.Contains(text, v) && !containedIn(shown, v) {
				t.Errorf("%s shows the sensitive value %q", what, v)
			}
		}
	}
}

func describe(out checks.CheckOutput) string {
	var b strings.Builder
	b.WriteString(out.Title + "\n" + out.Summary + "\n" + out.Text)
	for _, a := range out.Annotations {
		b.WriteString("\n" + a.Title + "\n" + a.Message + "\n" + a.RawDetails)
	}
	return b.String()
}

// sensitiveStrings collects the strings a plan marks sensitive (in resource
// changes, output changes, action configurations, sensitive outputs and
// variables) and the strings it shows without a mark where the renderer
// reads (a sensitive value may equal one of those: a name, a tag).
func sensitiveStrings(doc map[string]any) (sensitive, shown map[string]bool) {
	sensitive, shown = map[string]bool{}, map[string]bool{}
	var walk func(v, marker any, under bool)
	walk = func(v, marker any, under bool) {
		if b, ok := marker.(bool); ok && b {
			under = true
		}
		switch x := v.(type) {
		case string:
			if under && len(x) >= 4 {
				sensitive[x] = true
			} else if !under {
				shown[x] = true
			}
		case map[string]any:
			m, _ := marker.(map[string]any)
			for k, c := range x {
				shown[k] = true
				walk(c, m[k], under)
			}
		case []any:
			l, _ := marker.([]any)
			for i, c := range x {
				var m any
				if i < len(l) {
					m = l[i]
				}
				walk(c, m, under)
			}
		}
	}
	change := func(ch map[string]any) {
		walk(ch["before"], ch["before_sensitive"], false)
		walk(ch["after"], ch["after_sensitive"], false)
	}
	rcs, _ := doc["resource_changes"].([]any)
	for _, x := range rcs {
		rc, _ := x.(map[string]any)
		for _, k := range []string{"address", "previous_address", "type", "name", "deposed"} {
			if s, ok := rc[k].(string); ok {
				shown[s] = true
			}
		}
		if ch, ok := rc["change"].(map[string]any); ok {
			change(ch)
			if imp, ok := ch["importing"].(map[string]any); ok {
				walk(imp, nil, false)
			}
		}
	}
	ocs, _ := doc["output_changes"].(map[string]any)
	outputs, _ := doc["planned_values"].(map[string]any)
	planned, _ := outputs["outputs"].(map[string]any)
	for name, x := range ocs {
		ch, _ := x.(map[string]any)
		if po, _ := planned[name].(map[string]any); po["sensitive"] == true {
			walk(ch["before"], true, false)
			walk(ch["after"], true, false)
			continue
		}
		change(ch)
	}
	ais, _ := doc["action_invocations"].([]any)
	for _, x := range ais {
		a, _ := x.(map[string]any)
		walk(a["config_values"], a["config_sensitive"], false)
	}
	return sensitive, shown
}

// containedIn reports whether v is part of one of the strings.
func containedIn(strs map[string]bool, v string) bool {
	for s := range strs {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}
