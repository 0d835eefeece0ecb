package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/infra-agent/infra-agent/agent/pipeline"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/checks"
	"github.com/infra-agent/infra-agent/config"
)

const checkUsage = `usage: infra-agent check [flags] DIR...

Runs terraform fmt -check, init, validate, the Rego policies on the HCL,
plan, and the policies on the plan JSON, for every root module in each DIR
(a DIR holding several roots is searched for them), and prints a report.
Plans never take the state lock and nothing is ever applied.

Exit status: 0 clean (warnings allowed), 1 findings or validation errors,
2 usage or internal error.

flags:
`

// checkFlags are the parsed arguments of `infra-agent check`.
type checkFlags struct {
	policies    []string
	data        []string
	regoVersion string
	namespaces  []string
	format      string
	noPlan      bool
	terraform   string
	quiet       bool
	dirs        []string
}

// listFlag is a repeatable string flag.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

// parseInterleaved parses flags given before, between or after the
// positional arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseCheckFlags parses flags given before, between or after the
// directories.
func parseCheckFlags(args []string, stderr io.Writer) (checkFlags, error) {
	var f checkFlags
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(listFlag{&f.policies}, "policy", "Rego policy file or directory (repeatable); none: no policy steps")
	fs.Var(listFlag{&f.data}, "data", "JSON or YAML data file or directory the policies read under data (repeatable)")
	fs.StringVar(&f.regoVersion, "rego-version", "v1", "Rego syntax of the policies: v1 or v0")
	fs.Var(listFlag{&f.namespaces}, "namespace", "Rego package to evaluate (repeatable; default main)")
	fs.StringVar(&f.format, "format", "text", "report format: text, markdown or json")
	fs.BoolVar(&f.noPlan, "no-plan", false, "no plan: fmt, init -backend=false, validate and policy on the HCL only")
	fs.StringVar(&f.terraform, "terraform", "terraform", "terraform binary: terraform, tofu (OpenTofu) or a path")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), checkUsage)
		fs.PrintDefaults()
	}
	var err error
	if f.dirs, err = parseInterleaved(fs, args); err != nil {
		return f, err
	}
	switch f.format {
	case "text", "markdown", "json":
	default:
		return f, fmt.Errorf("--format must be text, markdown or json, not %q", f.format)
	}
	if f.regoVersion != "v0" && f.regoVersion != "v1" {
		return f, fmt.Errorf("--rego-version must be v0 or v1, not %q", f.regoVersion)
	}
	if len(f.dirs) == 0 {
		return f, errors.New("no directory given")
	}
	return f, nil
}

// runCheck is `infra-agent check`: the validation pipeline on local
// directories, without GitHub.
func runCheck(ctx context.Context, args []string, getenv func(string) string, io stdio) error {
	f, err := parseCheckFlags(args, io.err)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError("check: %v", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("check: finding the working directory: %w", err)
	}
	roots, err := checkRoots(cwd, f.dirs)
	if err != nil {
		return usageError("check: %v", err)
	}

	opts := pipeline.Options{
		Terraform: terraform.Options{Binary: f.terraform, PluginCacheDir: getenv("TF_PLUGIN_CACHE_DIR")},
		NoPlan:    f.noPlan,
	}
	if len(f.policies) > 0 {
		opts.Policy, err = policy.Compile(ctx, policy.Options{Paths: f.policies, DataPaths: f.data,
			Namespaces: f.namespaces, RegoVersion: f.regoVersion})
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("check: %w", err)}
		}
	} else if len(f.namespaces)+len(f.data) > 0 {
		return usageError("check: --namespace and --data need --policy")
	}
	if !f.quiet {
		opts.Progress = progressPrinter(io.err)
	}

	report, err := pipeline.Run(ctx, cwd, roots, opts)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	report.Versions["infra-agent"] = version

	switch f.format {
	case "json":
		out, err := checks.RenderJSON(report)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		_, err = io.out.Write(out)
		if err != nil {
			return fmt.Errorf("check: writing the report: %w", err)
		}
	case "markdown":
		fmt.Fprint(io.out, checks.RenderMarkdown(report))
	default:
		color := io.tty && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
		fmt.Fprint(io.out, checks.RenderText(report, color))
	}
	if pipeline.Failed(report) {
		return &exitError{code: 1}
	}
	return nil
}

// checkRoots finds the root modules in each directory argument, named
// relative to the working directory (the "repository" of a local check).
func checkRoots(cwd string, dirs []string) ([]pipeline.Root, error) {
	var roots []pipeline.Root
	seen := map[string]bool{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", d, err)
		}
		if info, err := os.Stat(abs); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", d)
		}
		rel, err := filepath.Rel(cwd, abs)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", d, err)
		}
		found, err := pipeline.DiscoverRoots(abs, config.TerraformConfig{Roots: config.Roots{Auto: true}}, nil)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no Terraform files in %s", d)
		}
		for _, r := range found {
			r.Dir = path.Join(filepath.ToSlash(rel), r.Dir)
			if !seen[r.Dir] {
				seen[r.Dir] = true
				roots = append(roots, r)
			}
		}
	}
	return roots, nil
}

// progressPrinter prints one line on w per step that ran, so a long run
// shows where it is.
func progressPrinter(w io.Writer) func(string, checks.StepName, checks.StepStatus) {
	var mu sync.Mutex
	return func(root string, step checks.StepName, status checks.StepStatus) {
		if status == checks.StepSkipped {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s: %s %s\n", root, step, status)
	}
}
