package policy

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/open-policy-agent/conftest/output"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/resolver"
	"github.com/open-policy-agent/opa/v1/topdown/print"
	"github.com/rs/zerolog"

	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/checks/redact"
)

// Log keys.
const (
	logKeyPolicyPrint = "policy_print"
	logKeyLocation    = "location"
)

// Counts tallies results as `conftest test` does in its summary line ("85
// tests, 22 passed, 0 warnings, 63 failures, 0 exceptions"). For each input
// (each .tf file of a root, or the plan) and namespace: every warning and
// failure is a test, every matching exception entry is a test (and silences
// its rule), a rule that yields an empty set is a passed test, and when
// there are fewer results than warn/deny/violation rule definitions, the
// difference counts as passed tests. Tests is the sum of the other four.
type Counts struct {
	Tests      int
	Passed     int
	Warnings   int
	Failures   int
	Exceptions int
}

func (c *Counts) add(o Counts) {
	c.Tests += o.Tests
	c.Passed += o.Passed
	c.Warnings += o.Warnings
	c.Failures += o.Failures
	c.Exceptions += o.Exceptions
}

// Result is what one evaluation (a root's HCL, or a plan) found.
type Result struct {
	Findings []checks.Finding
	Counts   Counts
}

// hit is one warning or failure before it is located.
type hit struct {
	ns      string
	rule    rule
	result  output.Result
	warning bool
}

// fileInfo is what conftest exposes to policies as data.conftest.file.
type fileInfo struct{ name, dir string }

// evaluate runs every namespace's rules on one input, as conftest's
// Engine.Check does, with the queries prepared at Compile time.
func (e *Engine) evaluate(ctx context.Context, input any, file fileInfo) ([]hit, Counts, error) {
	value, err := inputValue(input)
	if err != nil {
		return nil, Counts{}, fmt.Errorf("converting input: %w", err)
	}
	opts := []rego.EvalOption{
		rego.EvalParsedInput(value),
		rego.EvalInterQueryBuiltinCache(e.cache),
		rego.EvalPrintHook(printHook{log: zerolog.Ctx(ctx)}),
		rego.EvalResolver(e.fileRef, fileResolver(file)),
	}
	var hits []hit
	var total Counts
	for _, ns := range e.namespaces {
		var c Counts
		for _, r := range ns.rules {
			excepted, err := r.exception.Eval(ctx, opts...)
			if err != nil {
				return nil, Counts{}, fmt.Errorf("evaluating exceptions for %s.%s (%s): %w", ns.name, r.name, r.policy, err)
			}
			if len(excepted) > 0 {
				// conftest records one exception per matching exception
				// entry and drops the rule's results.
				c.Exceptions += len(excepted)
				continue
			}
			rs, err := r.query.Eval(ctx, opts...)
			if err != nil {
				return nil, Counts{}, fmt.Errorf("evaluating %s.%s (%s): %w", ns.name, r.name, r.policy, err)
			}
			results, err := ruleResults(rs)
			if err != nil {
				return nil, Counts{}, fmt.Errorf("reading results of %s.%s (%s): %w", ns.name, r.name, r.policy, err)
			}
			for _, res := range results {
				switch {
				case res.Passed():
					c.Passed++
				case r.warning:
					c.Warnings++
					hits = append(hits, hit{ns: ns.name, rule: r, result: res, warning: true})
				default:
					c.Failures++
					hits = append(hits, hit{ns: ns.name, rule: r, result: res})
				}
			}
		}
		// Rule definitions that produced no result passed.
		if n := c.Passed + c.Warnings + c.Failures + c.Exceptions; n < ns.ruleCount {
			c.Passed += ns.ruleCount - n
		}
		c.Tests = c.Passed + c.Warnings + c.Failures + c.Exceptions
		total.add(c)
	}
	return hits, total, nil
}

// ruleResults reads a rule's value as conftest does: a set of strings or of
// objects with a "msg" (and optional "_loc" and other keys); an empty set is
// one passing result.
func ruleResults(rs rego.ResultSet) ([]output.Result, error) {
	var out []output.Result
	for _, r := range rs {
		for _, expr := range r.Expressions {
			values, _ := expr.Value.([]any)
			if len(values) == 0 {
				out = append(out, output.Result{})
				continue
			}
			for _, v := range values {
				switch v := v.(type) {
				case string:
					out = append(out, output.Result{Message: v})
				case map[string]any:
					res, err := output.NewResult(v)
					if err != nil {
						return nil, err
					}
					out = append(out, res)
				}
			}
		}
	}
	return out, nil
}

// fileResolver serves data.conftest.file ({"name", "dir"}) per evaluation,
// so concurrent evaluations do not share it through the store as conftest's
// Engine does.
type fileResolver fileInfo

func (f fileResolver) Eval(context.Context, resolver.Input) (resolver.Result, error) {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return resolver.Result{}, fmt.Errorf("resolving data.conftest.file: %w", err)
	}
	obj := ast.NewObject(
		[2]*ast.Term{ast.StringTerm("name"), ast.StringTerm(f.name)},
		[2]*ast.Term{ast.StringTerm("dir"), ast.StringTerm(dir)},
	)
	return resolver.Result{Value: obj}, nil
}

// printHook sends policies' print() output to the debug log, redacted: a
// policy printing its input prints plan values, and logs are posted text.
type printHook struct{ log *zerolog.Logger }

func (h printHook) Print(pctx print.Context, msg string) error {
	h.log.Debug().Str(logKeyLocation, pctx.Location.String()).Str(logKeyPolicyPrint, redact.String(msg)).Msg("policy print")
	return nil
}
