// Package policy evaluates Rego policies with conftest, as a library, on
// Terraform configurations (each .tf file of a root) and on plan JSON, and
// ties every finding to the file and line of the block it is about.
//
// Policies follow conftest's conventions: warn, deny and violation rules
// (optionally with a _name suffix, e.g. deny_public_bucket) in the selected
// namespaces, and exception rules that silence them. Results are counted the
// way `conftest test` counts them.
//
// A finding's location is, in order of preference:
//   - the `_loc` object of a structured result ({"msg", "_loc": {"file", "line"}}),
//     the file relative to the root directory (conftest's own convention);
//   - the `address` (or `resource`) key of a structured result, a Terraform
//     address such as aws_s3_bucket.logs or module.net.aws_s3_bucket.logs[0];
//   - an address, or a block type and name, mentioned in the message. The
//     strongest, earliest mention wins; a tie between different blocks is not
//     guessed.
//
// For HCL input that is a block of the evaluated file (resource, data, module,
// provider, variable), falling back to line 1 of the file. For plan input it
// is the block that declares the resource, found by following local module
// sources from the root; a resource of a remote module points at the module
// block that calls it. A plan finding that names no address has no file.
package policy

import (
	"context"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	// parse_config, parse_config_file and parse_combined_config_files,
	// which the conftest CLI registers too: policies and their tests use them.
	_ "github.com/open-policy-agent/conftest/builtins"
	conftest "github.com/open-policy-agent/conftest/policy"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
	"github.com/open-policy-agent/opa/v1/version"

	"github.com/infra-agent/infra-agent/config"
)

// Options says which policies to load and how to evaluate them.
type Options struct {
	// Paths are Rego files or directories on disk.
	Paths []string
	// DataPaths are optional JSON/YAML data documents, available under data.
	DataPaths []string
	// Namespaces are the Rego packages to evaluate; default ["main"]. Glob
	// patterns (main.*) select among the loaded packages.
	Namespaces []string
	// AllNamespaces evaluates every package that has warn, deny or violation rules.
	AllNamespaces bool
	// RegoVersion is "v1" (default) or "v0".
	RegoVersion string
	// PlanInputKey, when set, wraps plan JSON as {KEY: plan} (Scalr's policies use "tfplan").
	PlanInputKey string
}

// Engine holds compiled policies. It is safe for concurrent use: one Engine
// serves every root of a run.
type Engine struct {
	namespaces []namespace
	planKey    string
	cache      cache.InterQueryCache
	fileRef    ast.Ref // data.conftest.file
	versions   map[string]string
}

// namespace is one Rego package to evaluate and its warn/deny/violation rules.
type namespace struct {
	name string
	// ruleCount counts rule definitions (a rule defined twice counts twice),
	// which is how conftest counts tests that passed.
	ruleCount int
	rules     []rule
}

// rule is one warn/deny/violation rule name of a namespace, with its queries
// prepared once.
type rule struct {
	name      string
	warning   bool
	policy    string // the file(s) defining it, relative to their policy path
	query     rego.PreparedEvalQuery
	exception rego.PreparedEvalQuery
}

var (
	warningRule = regexp.MustCompile("^warn(_[a-zA-Z0-9]+)*$")
	failureRule = regexp.MustCompile("^(deny|violation)(_[a-zA-Z0-9]+)*$")
)

// Compile loads and compiles the policies once. A broken policy (a syntax
// error, an unsafe variable) is an error that names its file and line. A
// requested namespace with no warn, deny or violation rule is an error too:
// evaluating it would pass everything.
func Compile(ctx context.Context, opts Options) (*Engine, error) {
	if len(opts.Paths) == 0 {
		return nil, fmt.Errorf("compiling policies: no policy paths given")
	}
	regoVersion := opts.RegoVersion
	switch regoVersion {
	case "":
		regoVersion = "v1"
	case "v0", "v1":
	default:
		return nil, fmt.Errorf("compiling policies: unknown Rego version %q (want v0 or v1)", opts.RegoVersion)
	}
	caps, err := conftest.LoadCapabilities("")
	if err != nil {
		return nil, fmt.Errorf("loading OPA capabilities: %w", err)
	}
	loaded, err := conftest.LoadWithData(opts.Paths, opts.DataPaths, conftest.CompilerOptions{RegoVersion: regoVersion, Capabilities: caps})
	if err != nil {
		return nil, loadError(opts, regoVersion, caps, err)
	}
	names, err := selectNamespaces(loaded, opts)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		planKey: opts.PlanInputKey,
		// Shared by every evaluation, as the conftest CLI shares it across
		// its inputs (http.send results).
		cache:    cache.NewInterQueryCache(nil),
		versions: versions(),
		fileRef:  ast.MustParseRef("data.conftest.file"),
	}
	for _, name := range names {
		ns, err := prepareNamespace(ctx, loaded, name, opts.Paths)
		if err != nil {
			return nil, err
		}
		e.namespaces = append(e.namespaces, ns)
	}
	return e, nil
}

// maxLoadErrorLines bounds the lines of a load error kept in the message: a
// pack in the other Rego syntax fails on every rule.
const maxLoadErrorLines = 6

// loadError explains why the policies did not load: when they parse in the
// other Rego version, which setting to change; and never a wall of
// rego_parse_error lines, only the first few.
func loadError(opts Options, version string, caps *ast.Capabilities, err error) error {
	paths := strings.Join(opts.Paths, ", ")
	msg := shortLoadError(err.Error())
	if strings.Contains(msg, "rego_parse_error") {
		other := map[string]string{"v0": "v1", "v1": "v0"}[version]
		if _, otherErr := conftest.LoadWithData(opts.Paths, opts.DataPaths, conftest.CompilerOptions{RegoVersion: other, Capabilities: caps}); otherErr == nil {
			return fmt.Errorf("compiling policies %s: they are written in Rego %s syntax, which Rego %s does not parse: "+
				"set policy.rego_version: %s in %s (or pass --rego-version %s to infra-agent check); %s parsing said: %s",
				paths, other, version, other, config.RepoConfigPath, other, version, msg)
		}
	}
	return fmt.Errorf("compiling policies %s: %s", paths, msg)
}

// shortLoadError keeps the first lines of a load error and counts the rest.
func shortLoadError(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	if len(lines) <= maxLoadErrorLines {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:maxLoadErrorLines], "\n") + fmt.Sprintf("\n(and %d more lines)", len(lines)-maxLoadErrorLines)
}

// ConfigOptions returns the Options of a repository's policy settings
// (.github/infra-agent.yml), their paths under repoDir.
func ConfigOptions(repoDir string, c config.PolicyConfig) Options {
	join := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = filepath.Join(repoDir, filepath.FromSlash(p))
		}
		return out
	}
	return Options{
		Paths:         join(c.Paths),
		DataPaths:     join(c.Data),
		Namespaces:    c.Namespaces,
		AllNamespaces: c.AllNamespaces,
		RegoVersion:   c.RegoVersion,
	}
}

// Versions reports the conftest and OPA versions the Engine is built with.
func (e *Engine) Versions() map[string]string {
	return maps.Clone(e.versions)
}

// Namespaces lists the Rego packages the Engine evaluates, sorted.
func (e *Engine) Namespaces() []string {
	out := make([]string, len(e.namespaces))
	for i, ns := range e.namespaces {
		out[i] = ns.name
	}
	return out
}

// selectNamespaces resolves the namespaces to evaluate, sorted.
func selectNamespaces(loaded *conftest.Engine, opts Options) ([]string, error) {
	available := loaded.Namespaces()
	sort.Strings(available)
	if opts.AllNamespaces {
		var out []string
		for _, ns := range available {
			if countRules(loaded, ns) > 0 {
				out = append(out, ns)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("selecting namespaces: no warn, deny or violation rules in %s", strings.Join(opts.Paths, ", "))
		}
		return out, nil
	}
	patterns := opts.Namespaces
	if len(patterns) == 0 {
		patterns = []string{"main"}
	}
	seen := make(map[string]bool)
	var out []string
	for _, p := range patterns {
		matched := false
		for _, ns := range available {
			ok, err := path.Match(p, ns)
			if err != nil {
				return nil, fmt.Errorf("selecting namespaces: pattern %q: %w", p, err)
			}
			if !ok || countRules(loaded, ns) == 0 {
				continue
			}
			matched = true
			if !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
		if !matched {
			return nil, fmt.Errorf("selecting namespaces: no warn, deny or violation rules in namespace %q (packages found: %s)",
				p, strings.Join(available, ", "))
		}
	}
	sort.Strings(out)
	return out, nil
}

// packageName is a module's namespace as conftest names it.
func packageName(m *ast.Module) string {
	return strings.TrimPrefix(m.Package.Path.String(), "data.")
}

// countRules counts the warn/deny/violation rule definitions of a namespace.
func countRules(loaded *conftest.Engine, ns string) int {
	n := 0
	for _, m := range loaded.Modules() {
		if packageName(m) != ns {
			continue
		}
		for _, r := range m.Rules {
			if name := r.Head.Name.String(); warningRule.MatchString(name) || failureRule.MatchString(name) {
				n++
			}
		}
	}
	return n
}

// prepareNamespace finds a namespace's rules and prepares their queries.
func prepareNamespace(ctx context.Context, loaded *conftest.Engine, name string, paths []string) (namespace, error) {
	files := make(map[string][]string) // rule name → defining files
	ns := namespace{name: name}
	for file, m := range loaded.Modules() {
		if packageName(m) != name {
			continue
		}
		for _, r := range m.Rules {
			rn := r.Head.Name.String()
			if !warningRule.MatchString(rn) && !failureRule.MatchString(rn) {
				continue
			}
			ns.ruleCount++
			rel := policyRel(file, paths)
			if !slices.Contains(files[rn], rel) {
				files[rn] = append(files[rn], rel)
			}
		}
	}
	store := loaded.Store()
	for _, rn := range slices.Sorted(maps.Keys(files)) {
		sort.Strings(files[rn])
		r := rule{name: rn, warning: warningRule.MatchString(rn), policy: strings.Join(files[rn], ", ")}
		var err error
		if r.query, err = prepare(ctx, loaded, store, fmt.Sprintf("data.%s.%s", name, rn)); err != nil {
			return namespace{}, err
		}
		// conftest matches exceptions on the rule name without its
		// warn_/deny_/violation_ prefix ("" for a bare deny).
		exc := fmt.Sprintf("data.%s.exception[_][_] == %q", name, exceptionName(rn))
		if r.exception, err = prepare(ctx, loaded, store, exc); err != nil {
			return namespace{}, err
		}
		ns.rules = append(ns.rules, r)
	}
	return ns, nil
}

// prepare compiles one query against the loaded policies. The runtime
// document deliberately carries no environment: conftest exposes every
// environment variable to policies through opa.runtime(), and a policy
// message must not be able to echo a credential into a check run.
func prepare(ctx context.Context, loaded *conftest.Engine, store storage.Store, query string) (rego.PreparedEvalQuery, error) {
	rt := ast.NewObject(
		[2]*ast.Term{ast.StringTerm("version"), ast.StringTerm(version.Version)},
		[2]*ast.Term{ast.StringTerm("env"), ast.NewTerm(ast.NewObject())},
	)
	pq, err := rego.New(
		rego.Query(query),
		rego.Compiler(loaded.Compiler()),
		rego.Store(store),
		rego.Runtime(ast.NewTerm(rt)),
		rego.EnablePrintStatements(true),
	).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("preparing query %s: %w", query, err)
	}
	return pq, nil
}

// exceptionName is the name exceptions use for a rule.
func exceptionName(rule string) string {
	for _, p := range []string{"warn", "deny", "violation"} {
		if rule == p {
			return ""
		}
		if strings.HasPrefix(rule, p+"_") {
			return strings.TrimPrefix(rule, p+"_")
		}
	}
	return rule
}

// policyRel names a policy file relative to the policy path it was loaded
// from (its base name when the path is the file itself).
func policyRel(file string, paths []string) string {
	file = filepath.Clean(file)
	for _, p := range paths {
		p = filepath.Clean(p)
		if file == p {
			return filepath.Base(file)
		}
		if rel, err := filepath.Rel(p, file); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(file)
}

// versions reads the conftest version from the build information (the
// library does not export it) and OPA's from its version package.
func versions() map[string]string {
	bi, _ := debug.ReadBuildInfo()
	return map[string]string{"conftest": moduleVersion(bi, conftestModule), "opa": version.Version}
}

const conftestModule = "github.com/open-policy-agent/conftest"

// moduleVersion returns the version of a dependency in the build
// information, or "unknown" (test binaries carry no dependency list).
func moduleVersion(bi *debug.BuildInfo, module string) string {
	if bi == nil {
		return "unknown"
	}
	for _, dep := range bi.Deps {
		if dep.Path != module {
			continue
		}
		if dep.Replace != nil && dep.Replace.Version != "" {
			return dep.Replace.Version
		}
		return dep.Version
	}
	return "unknown"
}
