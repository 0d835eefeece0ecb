// Package terraform runs terraform, or OpenTofu's tofu, through terraform-exec
// for the validation pipeline. It exposes init, validate, fmt, plan to a file
// and show -json of that plan — and nothing else: no apply, destroy, import,
// state, taint or unlock command exists here, so no code path can change
// infrastructure or state. Every call has a timeout and runs terraform with a
// scrubbed environment (see Options).
package terraform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// DefaultTimeout bounds one terraform call when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// killDelay is how long terraform gets to stop after the interrupt a timeout
// sends before it is killed. terraform-exec waits a minute by default; a plan
// that ignores the interrupt for 10 s is stuck.
const killDelay = 10 * time.Second

// Options configure how terraform runs. The zero value runs `terraform` from
// PATH with the default allow-lists and timeout.
type Options struct {
	// Binary is "terraform" (the default), "tofu" for OpenTofu, or a path to
	// either. A bare name is looked up on PATH.
	Binary string
	// PluginCacheDir, when set, becomes TF_PLUGIN_CACHE_DIR so that roots
	// share downloaded providers.
	PluginCacheDir string
	// DataDir, when set, becomes TF_DATA_DIR: where init keeps modules,
	// providers and the selected workspace, instead of .terraform in the
	// working directory (so a run leaves the checkout as it found it).
	DataDir string
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
	// Env lists the variables (names, `*` wildcards) terraform gets when
	// their names do not look secret (*_TOKEN, *_API_KEY, *SECRET*, ...).
	// Nil means DefaultEnv().
	Env []string
	// CredentialEnv lists the variables terraform gets even though their names
	// look secret: the cloud credentials the workflow provides, or a
	// TF_TOKEN_<host> for a private registry. Nil means DefaultCredentialEnv().
	// The GitHub token, ACTIONS_*, INFRA_AGENT_* and the model keys never
	// pass, whatever the lists say.
	CredentialEnv []string
	// Environ is the environment the allow-lists filter, as KEY=VALUE
	// entries; nil means os.Environ().
	Environ []string
}

// CLI is terraform bound to one working directory. A CLI runs one command at
// a time; use one per root for concurrent runs.
type CLI struct {
	tf      *tfexec.Terraform
	name    string
	timeout time.Duration
}

// New returns a CLI running opts.Binary in dir.
func New(dir string, opts Options) (*CLI, error) {
	bin, err := resolveBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving terraform working directory %s: %w", dir, err)
	}
	tf, err := tfexec.NewTerraform(abs, bin)
	if err != nil {
		return nil, fmt.Errorf("preparing terraform in %s: %w", dir, err)
	}
	if err := setEnv(tf, opts); err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" {
		if err := tf.SetWaitDelay(killDelay); err != nil {
			return nil, fmt.Errorf("setting terraform kill delay: %w", err)
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &CLI{tf: tf, name: filepath.Base(bin), timeout: timeout}, nil
}

// resolveBinary finds the terraform or tofu executable. Paths are made
// absolute because terraform-exec runs the binary from the working directory.
func resolveBinary(bin string) (string, error) {
	if bin == "" {
		bin = "terraform"
	}
	if strings.ContainsRune(bin, os.PathSeparator) || strings.ContainsRune(bin, '/') {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", fmt.Errorf("resolving terraform binary %s: %w", bin, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("terraform binary %s: %w", bin, err)
		}
		return abs, nil
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("finding %s on PATH (install terraform or OpenTofu, or name the binary): %w", bin, err)
	}
	return filepath.Abs(p)
}

// setEnv gives terraform the scrubbed environment. terraform-exec refuses
// TF_VAR_* in SetEnv (it wants -var flags, which would put secret values on
// the command line, visible to every user of the machine). It keeps the map it
// is given and copies it on every command, so the allowed TF_VAR_* values are
// added after its check: they reach terraform through the environment, with
// terraform's own precedence and parsing. TestScrubbedEnvironment catches a
// terraform-exec change that breaks this.
func setEnv(tf *tfexec.Terraform, opts Options) error {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	allow, creds := opts.Env, opts.CredentialEnv
	if allow == nil {
		allow = DefaultEnv()
	}
	if creds == nil {
		creds = DefaultCredentialEnv()
	}
	s := scrubEnv(environ, allow, creds)
	// terraform's update check would phone home on every command.
	s.env["CHECKPOINT_DISABLE"] = "1"
	if opts.PluginCacheDir != "" {
		s.env["TF_PLUGIN_CACHE_DIR"] = opts.PluginCacheDir
	}
	if opts.DataDir != "" {
		s.env["TF_DATA_DIR"] = opts.DataDir
	}
	if err := tf.SetEnv(s.env); err != nil {
		return fmt.Errorf("setting terraform environment: %w", err)
	}
	for k, v := range s.vars {
		s.env[k] = v
	}
	// terraform's documented per-command arguments: see ShowPlanJSON.
	s.env[showArgsEnv] = "-json"
	return nil
}

// showArgsEnv adds arguments to every `terraform show` (and `tofu show`).
const showArgsEnv = "TF_CLI_ARGS_show"

// InitOptions configure Init.
type InitOptions struct {
	// SkipBackend runs `init -backend=false`: modules and providers only, no
	// state access. Enough for validate; used when nothing may be planned.
	SkipBackend bool
}

// Init runs `terraform init -input=false`.
func (c *CLI) Init(ctx context.Context, opts InitOptions) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := c.tf.Init(ctx, tfexec.Backend(!opts.SkipBackend), tfexec.Upgrade(false))
	return c.wrap(ctx, "init", err)
}

// SelectWorkspace runs `terraform workspace select NAME`. It never creates a
// workspace: creating one writes to the backend.
func (c *CLI) SelectWorkspace(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.wrap(ctx, "workspace select", c.tf.WorkspaceSelect(ctx, name))
}

// Version returns the version the binary reports, e.g. "1.5.7".
func (c *CLI) Version(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, err := c.tf.Version(ctx, false)
	if err != nil {
		return "", c.wrap(ctx, "version", err)
	}
	return v.String(), nil
}

// Name is the binary's base name ("terraform", "tofu"), for reports.
func (c *CLI) Name() string { return strings.TrimSuffix(c.name, ".exe") }

// PlanOptions configure Plan.
type PlanOptions struct {
	// Out is where the saved plan goes (required). Keep it outside the
	// repository: a plan file holds values in clear text.
	Out string
	// VarFiles are passed as -var-file, in order; relative paths are relative
	// to the working directory.
	VarFiles []string
}

// Plan runs `terraform plan -lock=false -input=false -out=FILE` and reports
// whether the plan has changes. Plans never take the state lock: a check must
// not block a person's apply.
func (c *CLI) Plan(ctx context.Context, opts PlanOptions) (bool, error) {
	if opts.Out == "" {
		return false, errors.New("terraform plan: no output file given")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	args := []tfexec.PlanOption{tfexec.Out(opts.Out), tfexec.Lock(false)}
	for _, vf := range opts.VarFiles {
		args = append(args, tfexec.VarFile(vf))
	}
	changes, err := c.tf.Plan(ctx, args...)
	return changes, c.wrap(ctx, "plan", err)
}

// ShowPlanJSON runs `terraform show -json FILE` on a saved plan and returns
// the document as terraform wrote it, undecoded: the caller decodes it once
// for every consumer. terraform-exec returns `show -json` only decoded into
// its own structs (a decode thrown away, and fields it does not know dropped);
// ShowPlanFileRaw returns show's output as it is, and TF_CLI_ARGS_show=-json
// (set with the environment, see setEnv) makes that output the JSON.
func (c *CLI) ShowPlanJSON(ctx context.Context, planFile string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.tf.ShowPlanFileRaw(ctx, planFile)
	if err != nil {
		return nil, c.wrap(ctx, "show", err)
	}
	if t := strings.TrimSpace(out); !strings.HasPrefix(t, "{") {
		return nil, fmt.Errorf("%s show -json: the output is not JSON (%s ignored %s?): %.80q", c.Name(), c.Name(), showArgsEnv, t)
	}
	return []byte(out), nil
}

// wrap turns a terraform-exec error into a CommandError.
func (c *CLI) wrap(ctx context.Context, command string, err error) error {
	if err == nil {
		return nil
	}
	ce := &CommandError{Binary: c.Name(), Command: command, err: err}
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		ce.Timeout = c.timeout
	}
	ce.Stderr, ce.Diagnostics = parseOutput(err.Error())
	return ce
}
