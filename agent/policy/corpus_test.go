package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/checks"
)

var recordConftest = flag.Bool("record-conftest", false,
	"record testdata/corpus/golden/conftest/*.json with the conftest CLI ($CONFTEST, or built with go install)")

const corpusDir = "../../testdata/corpus"

// corpusSet is a policy set evaluated on inputs of the corpus.
type corpusSet struct {
	name   string
	policy string // relative to the corpus
	hcl    bool   // inputs are the configuration files, not the plans
}

func corpusSets() []corpusSet {
	return []corpusSet{
		{name: "plan", policy: "policy/plan"},
		{name: "conftest-hcl1", policy: "conftest/hcl1/policy/base.rego"},
		{name: "conftest-hcl2", policy: "conftest/hcl2/policy", hcl: true},
	}
}

// cliResult is one input's entry in `conftest test --output json`.
type cliResult struct {
	Filename   string         `json:"filename"`
	Namespace  string         `json:"namespace"`
	Successes  int            `json:"successes"`
	Failures   []cliViolation `json:"failures"`
	Warnings   []cliViolation `json:"warnings"`
	Exceptions []cliViolation `json:"exceptions"`
}

type cliViolation struct {
	Msg      string         `json:"msg"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// TestCorpusMatchesConftest evaluates each policy set of the corpus on each
// of its inputs (every plan document, every .tf and .tf.json file) and
// compares the results, counts included, with what the conftest CLI v0.71.1
// reported on the same files (golden files; -record-conftest records them
// again). Messages are compared after the engine's masking of sensitive
// values, applied to the CLI's messages too.
func TestCorpusMatchesConftest(t *testing.T) {
	for _, set := range corpusSets() {
		t.Run(set.name, func(t *testing.T) {
			inputs := corpusInputs(t, set.hcl)
			golden := filepath.Join(corpusDir, "golden", "conftest", set.name+".json")
			if *recordConftest {
				recordCLI(t, set, inputs, golden)
			}
			var want map[string]cliResult
			if err := json.Unmarshal(readFile(t, golden), &want); err != nil {
				t.Fatalf("reading %s: %v", golden, err)
			}
			if len(want) != len(inputs) {
				t.Errorf("%s has %d inputs, the corpus %d: record it again (-record-conftest)", golden, len(want), len(inputs))
			}
			e := compile(t, Options{Paths: []string{filepath.Join(corpusDir, set.policy)}})
			checked := 0
			for _, in := range inputs {
				w, ok := want[in]
				if !ok {
					continue
				}
				got, mask := evaluateCorpusInput(t, e, in, set.hcl)
				compareWithCLI(t, in, got, w, mask)
				checked++
			}
			if checked < 10 {
				t.Errorf("compared %d inputs with the CLI, want the corpus", checked)
			}
		})
	}
}

// corpusInputs lists the inputs of a policy set, relative to the corpus:
// the JSON documents (objects) that are not golden files, or the
// configuration files.
func corpusInputs(t *testing.T, hcl bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasPrefix(rel, "golden/"):
		case hcl && (strings.HasSuffix(rel, ".tf") || strings.HasSuffix(rel, ".tf.json")):
			out = append(out, rel)
		case !hcl && strings.HasSuffix(rel, ".json") && !strings.HasSuffix(rel, ".tf.json"):
			if _, err := checks.DecodePlan(readFile(t, p)); err == nil {
				out = append(out, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// evaluateCorpusInput evaluates one input with the engine; mask is the
// masking the engine applied to its messages.
func evaluateCorpusInput(t *testing.T, e *Engine, in string, hcl bool) (Result, func(string) string) {
	t.Helper()
	path := filepath.Join(corpusDir, filepath.FromSlash(in))
	root := Root{Dir: filepath.Dir(path), Rel: filepath.ToSlash(filepath.Dir(in))}
	if hcl {
		res, err := e.evaluateHCLFile(context.Background(), root, root.rel(), filepath.Base(path))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		return res, func(s string) string { return s }
	}
	doc, err := checks.DecodePlan(readFile(t, path))
	if err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	res, err := e.EvaluatePlanDocument(context.Background(), root, doc)
	if err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	return res, sensitiveMasker(doc)
}

// compareWithCLI compares an input's results with the CLI's.
func compareWithCLI(t *testing.T, in string, got Result, want cliResult, mask func(string) string) {
	t.Helper()
	if got.Counts.Passed != want.Successes || got.Counts.Exceptions != len(want.Exceptions) ||
		got.Counts.Failures != len(want.Failures) || got.Counts.Warnings != len(want.Warnings) {
		t.Errorf("%s: counts %+v; the CLI: %d successes, %d failures, %d warnings, %d exceptions", in, got.Counts,
			want.Successes, len(want.Failures), len(want.Warnings), len(want.Exceptions))
	}
	var gotFails, gotWarns []string
	for _, f := range got.Findings {
		s := violationKey(f.Message, f.Metadata)
		if f.Severity == checks.SeverityFailure {
			gotFails = append(gotFails, s)
		} else {
			gotWarns = append(gotWarns, s)
		}
	}
	for _, c := range []struct {
		what      string
		got       []string
		violating []cliViolation
	}{{"failures", gotFails, want.Failures}, {"warnings", gotWarns, want.Warnings}} {
		var wantKeys []string
		for _, v := range c.violating {
			meta := map[string]any{}
			for k, x := range v.Metadata {
				if k != "query" { // the CLI adds the rule's query to the output
					meta[k] = checks.MapStrings(x, mask)
				}
			}
			wantKeys = append(wantKeys, violationKey(mask(v.Msg), meta))
		}
		slices.Sort(wantKeys)
		slices.Sort(c.got)
		if !slices.Equal(c.got, wantKeys) {
			t.Errorf("%s: %s differ from the CLI's:\n got %q\nwant %q", in, c.what, c.got, wantKeys)
		}
	}
}

// violationKey renders a message and its metadata (numbers normalised
// through JSON) for comparison.
func violationKey(msg string, meta map[string]any) string {
	if len(meta) == 0 {
		return msg
	}
	b, _ := json.Marshal(meta)
	var norm any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&norm)
	if reflect.ValueOf(norm).Len() == 0 {
		return msg
	}
	b, _ = json.Marshal(norm)
	return msg + " " + string(b)
}

// recordCLI runs the conftest CLI once on all the inputs of a set and writes
// its results, by input, to the golden file.
func recordCLI(t *testing.T, set corpusSet, inputs []string, golden string) {
	t.Helper()
	cli := conftestCLI(t)
	args := []string{"test", "--no-color", "--no-fail", "--output", "json", "--policy", set.policy}
	cmd := exec.Command(cli, append(args, inputs...)...)
	cmd.Dir = corpusDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conftest %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var results []cliResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("reading conftest's output: %v", err)
	}
	byInput := map[string]cliResult{}
	for _, r := range results {
		if r.Namespace == "main" {
			byInput[filepath.ToSlash(r.Filename)] = r
		}
	}
	out, err := json.MarshalIndent(byInput, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
