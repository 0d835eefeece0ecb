package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/infra-agent/infra-agent/agent/audit"
	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/loop"
	"github.com/infra-agent/infra-agent/agent/model"
	"github.com/infra-agent/infra-agent/agent/policy"
	"github.com/infra-agent/infra-agent/agent/terraform"
	"github.com/infra-agent/infra-agent/config"
	"github.com/infra-agent/infra-agent/wire"
)

const fixUsage = `usage: infra-agent fix [flags] DIR

Fixes the Terraform in the repository DIR: terraform fmt and the fixes the
policies declare first, with no model; then, for what is left, a model
through typed tools (ANTHROPIC_API_KEY, or OPENAI_API_KEY / OPENAI_BASE_URL;
INFRA_AGENT_MODEL_PROVIDER and INFRA_AGENT_MODEL override the repository's
.github/infra-agent.yml). Every change is validated (fmt, validate, policies,
plan) and gated; nothing is ever applied. Prints the diff and the outcome.

Exit status: 0 fixed (or nothing to fix), 1 needs review, 2 error.

flags:
`

// fixFlags are the parsed arguments of `infra-agent fix`.
type fixFlags struct {
	policies     []string
	data         []string
	regoVersion  string
	namespaces   []string
	instructions string
	dryRun       bool
	format       string
	terraform    string
	audit        string
	dir          string
}

func parseFixFlags(args []string, stderr io.Writer) (fixFlags, error) {
	var f fixFlags
	fs := flag.NewFlagSet("fix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(listFlag{&f.policies}, "policy", "Rego policy file or directory (repeatable); default the repository's policy.paths")
	fs.Var(listFlag{&f.data}, "data", "JSON or YAML data file or directory the policies read under data (repeatable); default the repository's policy.data")
	fs.StringVar(&f.regoVersion, "rego-version", "", "Rego syntax of the policies: v1 or v0 (default the repository's policy.rego_version)")
	fs.Var(listFlag{&f.namespaces}, "namespace", "Rego package to evaluate (repeatable; default the repository's policy.namespaces)")
	fs.StringVar(&f.instructions, "instructions", "", "what to do, in words, besides fixing the findings")
	fs.BoolVar(&f.dryRun, "dry-run", false, "leave the files untouched; print the diff that would be made")
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	fs.StringVar(&f.terraform, "terraform", "", "terraform binary: terraform, tofu or a path (default the repository's terraform.binary)")
	fs.StringVar(&f.audit, "audit", "", "write the audit trail (JSON lines) to this file")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), fixUsage)
		fs.PrintDefaults()
	}
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		return f, err
	}
	if f.format != "text" && f.format != "json" {
		return f, fmt.Errorf("--format must be text or json, not %q", f.format)
	}
	if f.regoVersion != "" && f.regoVersion != "v0" && f.regoVersion != "v1" {
		return f, fmt.Errorf("--rego-version must be v0 or v1, not %q", f.regoVersion)
	}
	if len(dirs) != 1 {
		return f, errors.New("give exactly one repository directory")
	}
	f.dir = dirs[0]
	return f, nil
}

// runFix is `infra-agent fix`: the agent on a local checkout.
func runFix(ctx context.Context, args []string, getenv func(string) string, io stdio) error {
	f, err := parseFixFlags(args, io.err)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError("fix: %v", err)
	}
	cfg, err := localRepoConfig(f.dir)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("fix: %w", err)}
	}
	opts, closeAudit, err := fixOptions(ctx, f, cfg, getenv)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("fix: %w", err)}
	}
	defer closeAudit()
	task := loop.Task{Kind: wire.KindFix, Instructions: f.instructions, Trigger: brief.Trigger{Source: "cli", At: time.Now()}}
	res, err := loop.Run(ctx, task, opts)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("fix: %w", err)}
	}
	if err := opts.Audit.Err(); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("fix: writing the audit trail: %w", err)}
	}
	if f.format == "json" {
		out, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("fix: %w", err)
		}
		fmt.Fprintf(io.out, "%s\n", out)
	} else {
		fmt.Fprint(io.out, res.Text())
	}
	if !res.Success() {
		return &exitError{code: 1}
	}
	return nil
}

// localRepoConfig reads DIR/.github/infra-agent.yml when there is one.
func localRepoConfig(dir string) (config.RepoConfig, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(config.RepoConfigPath)))
	if errors.Is(err, os.ErrNotExist) {
		return config.DefaultRepoConfig(), nil
	}
	if err != nil {
		return config.RepoConfig{}, err
	}
	return config.ParseRepoConfig(data)
}

// fixOptions wires the agent: policies, terraform, the model (or none) and
// the audit trail.
func fixOptions(ctx context.Context, f fixFlags, cfg config.RepoConfig, getenv func(string) string) (loop.Options, func(), error) {
	opts := loop.Options{Dir: f.dir, Config: cfg, DryRun: f.dryRun}
	binary := f.terraform
	if binary == "" {
		binary = cfg.Terraform.Binary
	}
	opts.Terraform = terraform.Options{Binary: binary, PluginCacheDir: getenv("TF_PLUGIN_CACHE_DIR")}
	po := policyOptions(f, cfg)
	if len(po.Paths) > 0 {
		engine, err := policy.Compile(ctx, po)
		if err != nil {
			return opts, nil, err
		}
		opts.Policy, opts.PolicyPaths = engine, po.Paths
	}
	mc, err := model.FromEnv(getenv, cfg.Agent)
	switch {
	case errors.Is(err, model.ErrNotConfigured):
	case err != nil:
		return opts, nil, err
	default:
		if opts.Model, err = model.New(mc); err != nil {
			return opts, nil, err
		}
	}
	closeAudit := func() {}
	if f.audit != "" {
		file, err := os.OpenFile(f.audit, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return opts, nil, fmt.Errorf("opening the audit trail: %w", err)
		}
		opts.Audit = audit.New(file, "local", "")
		closeAudit = func() { file.Close() }
	}
	return opts, closeAudit, nil
}

// policyOptions are the repository's policy settings (paths, data,
// namespaces, Rego version) with the flags in place of those they give. The
// repository's paths that the checkout lacks are left out: the default
// policy directory need not exist.
func policyOptions(f fixFlags, cfg config.RepoConfig) policy.Options {
	o := policy.ConfigOptions(f.dir, cfg.Policy)
	existing := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
		return out
	}
	o.Paths, o.DataPaths = existing(o.Paths), existing(o.DataPaths)
	if len(f.policies) > 0 {
		o.Paths = f.policies
	}
	if len(f.data) > 0 {
		o.DataPaths = f.data
	}
	if len(f.namespaces) > 0 {
		o.Namespaces, o.AllNamespaces = f.namespaces, false
	}
	if f.regoVersion != "" {
		o.RegoVersion = f.regoVersion
	}
	return o
}
