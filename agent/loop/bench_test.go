package loop_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/internal/fakemodel"
	"github.com/infra-agent/infra-agent/internal/testkit"
	"github.com/infra-agent/infra-agent/wire"
)

// The corpus of the performance figures: TerraGoat's AWS configuration
// (deliberately misconfigured, real third-party code) with the example
// policies, conftest's example policy and the AWS policy set of testdata.
var (
	terragoat      = filepath.Join("..", "policy", "testdata", "terragoat", "terraform", "aws")
	examplePolicy  = filepath.Join("..", "..", "examples", "policy")
	conftestPolicy = filepath.Join("..", "policy", "testdata", "conftest", "examples", "hcl2", "policy")
	awsPolicy      = filepath.Join("testdata", "aws-policy")
)

func staticOptions(b testing.TB, dir string, paths []string) loop.Options {
	b.Helper()
	engine, err := policy.Compile(context.Background(), policy.Options{Paths: paths})
	if err != nil {
		b.Fatal(err)
	}
	return loop.Options{Dir: dir, Config: config.DefaultRepoConfig(), Policy: engine, PolicyPaths: paths, Static: true,
		Terraform: terraform.Options{Binary: testkit.TerraformBinary(b)}}
}

// BenchmarkZeroModelShare measures the share of findings fixed with zero
// model calls: `infra-agent fix` with no model on a copy of TerraGoat (fmt and
// the policies on the HCL; TerraGoat does not initialise on terraform 1.5, so
// no plan), counting the targeted findings the final validation no longer
// shows.
func BenchmarkZeroModelShare(b *testing.B) {
	for _, set := range []struct {
		name  string
		paths []string
	}{
		{"aws-policy", []string{awsPolicy, examplePolicy}},
		{"aws-policy+conftest-example", []string{awsPolicy, examplePolicy, conftestPolicy}},
	} {
		b.Run(set.name, func(b *testing.B) {
			var res loop.Result
			for b.Loop() {
				dir := b.TempDir()
				testkit.CopyTree(b, terragoat, dir)
				var err error
				res, err = loop.Run(context.Background(), loop.Task{Kind: wire.KindFix}, staticOptions(b, dir, set.paths))
				if err != nil {
					b.Fatal(err)
				}
			}
			found, left := len(res.Targets), len(res.Remaining)
			if found < 30 || res.ModelCalls != 0 || len(res.NewFailures) > 0 {
				b.Fatalf("findings %d, model calls %d, new failures %d", found, res.ModelCalls, len(res.NewFailures))
			}
			b.ReportMetric(float64(found), "findings")
			b.ReportMetric(float64(found-left), "fixed-no-model")
			b.ReportMetric(100*float64(found-left)/float64(found), "%fixed-no-model")
		})
	}
}

// BenchmarkTaskTokens measures the tokens a task sends the model in its
// first request (system prompt, tools and brief, as the official SDK sends
// them to the scripted server) against a baseline that sends the same
// request with the whole files of the findings instead of their blocks. The
// tasks are what TerraGoat leaves for a model after the deterministic fixes:
// one task per finding (a remediation issue), and one per file (a fix of all
// a file's findings).
func BenchmarkTaskTokens(b *testing.B) {
	dir := b.TempDir()
	testkit.CopyTree(b, terragoat, dir)
	paths := []string{awsPolicy, examplePolicy}
	fixed, err := loop.Run(context.Background(), loop.Task{Kind: wire.KindFix}, staticOptions(b, dir, paths))
	if err != nil {
		b.Fatal(err)
	}
	perFinding := [][]checks.Finding{}
	byFile := map[string][]checks.Finding{}
	for _, f := range fixed.Remaining {
		perFinding = append(perFinding, []checks.Finding{f})
		byFile[f.File] = append(byFile[f.File], f)
	}
	var files []string
	for f := range byFile {
		files = append(files, f)
	}
	slices.Sort(files)
	perFile := [][]checks.Finding{}
	for _, f := range files {
		perFile = append(perFile, byFile[f])
	}
	for _, set := range []struct {
		name  string
		tasks [][]checks.Finding
	}{{"per-finding", perFinding}, {"per-file", perFile}} {
		b.Run(set.name, func(b *testing.B) {
			var total tokens
			most := 0
			for b.Loop() {
				total, most = tokens{}, 0
				for _, targets := range set.tasks {
					t := taskTokens(b, dir, paths, targets)
					total = tokens{total.sent + t.sent, total.baseline + t.baseline, total.rootBaseline + t.rootBaseline, total.brief + t.brief, total.baselineBrief + t.baselineBrief}
					most = max(most, t.sent)
				}
			}
			n := len(set.tasks)
			if n < 5 || most > brief.MaxTokens {
				b.Fatalf("%d tasks, largest %d tokens", n, most)
			}
			b.ReportMetric(float64(n), "tasks")
			b.ReportMetric(float64(total.sent)/float64(n), "tokens/task")
			b.ReportMetric(float64(total.baseline)/float64(n), "baseline-tokens/task")
			b.ReportMetric(100*float64(total.sent)/float64(total.baseline), "%of-baseline")
			b.ReportMetric(100*float64(total.brief)/float64(total.baselineBrief), "%brief-of-baseline-brief")
			b.ReportMetric(float64(total.rootBaseline)/float64(n), "root-baseline-tokens/task")
			b.ReportMetric(100*float64(total.sent)/float64(total.rootBaseline), "%of-root-baseline")
			b.ReportMetric(float64(most), "max-tokens/task")
		})
	}
}

// tokens are one task's first request, whole and its brief alone (the part
// that differs between tasks; the system prompt and tools are the same for
// every task, a prompt-cache hit after the first), and the baselines': the
// same request with the findings' files whole instead of their blocks, and
// with every .tf file of the findings' root modules whole (what an agent
// handed the configuration sends).
type tokens struct {
	sent, baseline, rootBaseline, brief, baselineBrief int
}

// taskTokens runs one task up to its first model request and counts its
// tokens and the whole-files baseline's.
func taskTokens(b *testing.B, dir string, paths []string, targets []checks.Finding) tokens {
	b.Helper()
	srv := fakemodel.New(b, fakemodel.Turns(fakemodel.Turn{Calls: []fakemodel.Call{{Name: "finish", Args: map[string]any{"summary": "-"}}}}))
	opts := staticOptions(b, dir, paths)
	opts.DryRun = true
	var err error
	if opts.Model, err = model.New(model.Config{Provider: model.ProviderAnthropic, BaseURL: srv.AnthropicURL(), APIKey: "k", Model: "m"}); err != nil {
		b.Fatal(err)
	}
	res, err := loop.Run(context.Background(), loop.Task{Kind: wire.KindFix, Findings: targets}, opts)
	if err != nil {
		b.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 {
		b.Fatalf("no model request: %s %v", res.Status, res.NeedsReview)
	}
	sent := fakemodel.EstimateTokens(string(reqs[0].Body))
	briefText := reqs[0].LastUserText
	// The baseline's brief: the blocks out, each file whole instead.
	var base strings.Builder
	rest := briefText
	for {
		i := strings.Index(rest, `<data source="file `)
		if i < 0 {
			break
		}
		base.WriteString(rest[:i])
		rest = rest[i+strings.Index(rest[i:], "</data>")+len("</data>"):]
	}
	base.WriteString(rest)
	withoutBlocks := base.String()
	var files, rootFiles []string
	for _, f := range targets {
		if f.File != "" && !slices.Contains(files, f.File) {
			files = append(files, f.File)
		}
	}
	for _, f := range files {
		matches, err := filepath.Glob(filepath.Join(dir, filepath.Dir(filepath.FromSlash(f)), "*.tf"))
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(dir, m)
			if rel = filepath.ToSlash(rel); !slices.Contains(rootFiles, rel) {
				rootFiles = append(rootFiles, rel)
			}
		}
	}
	whole := func(files []string) int {
		text := withoutBlocks
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				b.Fatal(err)
			}
			text += "\n" + brief.Frame("file "+f, string(data), 1<<20)
		}
		// As the request carries it: JSON-escaped.
		return fakemodel.EstimateTokens(escaped(text))
	}
	mine, theirs, root := fakemodel.EstimateTokens(escaped(briefText)), whole(files), whole(rootFiles)
	if root < theirs {
		b.Fatalf("the root modules' files (%d tokens) are fewer than the findings' files (%d)", root, theirs)
	}
	return tokens{sent: sent, baseline: sent - mine + theirs, rootBaseline: sent - mine + root, brief: mine, baselineBrief: theirs}
}

// escaped is a string as a JSON body carries it.
func escaped(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSpace(b.String())

}
