package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/internal/testkit"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		dir       string
		wantValid bool
		// wantDiags are "file:line summary" of the error diagnostics.
		wantDiags []string
	}{
		{dir: "valid", wantValid: true},
		{dir: "invalid", wantDiags: []string{
			"main.tf:2 Reference to undeclared input variable",
			"main.tf:7 Unsupported argument",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			ctx := context.Background()
			c := newCLI(t, copyDir(t, tt.dir), Options{})
			if err := c.Init(ctx, InitOptions{SkipBackend: true}); err != nil {
				t.Fatalf("Init: %v", err)
			}
			v, err := c.Validate(ctx)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if v.Valid != tt.wantValid {
				t.Errorf("Valid = %v, want %v (%+v)", v.Valid, tt.wantValid, v.Diagnostics)
			}
			var got []string
			for _, d := range v.Diagnostics {
				if d.Severity == SeverityError {
					got = append(got, d.File+":"+strconv.Itoa(d.Line)+" "+d.Summary)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantDiags, "\n") {
				t.Errorf("error diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantDiags, "\n"))
			}
		})
	}
}

func TestFormatCheckAndWrite(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, "unformatted")
	c := newCLI(t, dir, Options{})
	got, err := c.FormatCheck(ctx)
	if err != nil {
		t.Fatalf("FormatCheck: %v", err)
	}
	want := []Unformatted{{File: "main.tf", Line: 2}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("FormatCheck = %+v, want %+v", got, want)
	}
	if err := c.FormatWrite(ctx); err != nil {
		t.Fatalf("FormatWrite: %v", err)
	}
	if got, err := c.FormatCheck(ctx); err != nil || len(got) != 0 {
		t.Errorf("after FormatWrite: FormatCheck = %+v, %v; want nothing", got, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "  input            = \"a\"\n") {
		t.Errorf("main.tf was not formatted:\n%s", b)
	}
}

func TestFormatCheckSyntaxError(t *testing.T) {
	c := newCLI(t, copyDir(t, "syntax"), Options{})
	_, err := c.FormatCheck(context.Background())
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("FormatCheck error = %v, want a *CommandError", err)
	}
	var found bool
	for _, d := range ce.Diagnostics {
		if d.Severity == SeverityError && d.File == "main.tf" && d.Line == 3 && d.Summary == "Invalid expression" {
			found = true
		}
	}
	if !found {
		t.Errorf("diagnostics %+v lack main.tf:3 Invalid expression", ce.Diagnostics)
	}
	if !strings.Contains(err.Error(), "terraform fmt: main.tf:3: Invalid expression") {
		t.Errorf("error = %q", err)
	}
}

func TestPlanAndShow(t *testing.T) {
	ctx := context.Background()
	dir := copyDir(t, "valid")
	dataDir := filepath.Join(t.TempDir(), "data")
	c := newCLI(t, dir, Options{DataDir: dataDir})
	if err := c.Init(ctx, InitOptions{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	version, err := c.Version(ctx)
	if err != nil || version == "" {
		t.Fatalf("Version = %q, %v", version, err)
	}
	tests := []struct {
		name      string
		varFiles  []string
		wantInput string
	}{
		{name: "defaults", wantInput: "demo"},
		{name: "var file", varFiles: []string{"prod.tfvars"}, wantInput: "from-var-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "plan.tfplan")
			changes, err := c.Plan(ctx, PlanOptions{Out: out, VarFiles: tt.varFiles})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !changes {
				t.Error("Plan reported no changes for a new resource")
			}
			raw, err := c.ShowPlanJSON(ctx, out)
			if err != nil {
				t.Fatalf("ShowPlanJSON: %v", err)
			}
			var plan map[string]any
			if err := json.Unmarshal(raw, &plan); err != nil {
				t.Fatalf("show -json output is not JSON: %v", err)
			}
			if plan["terraform_version"] != version {
				t.Errorf("terraform_version = %v, want %s", plan["terraform_version"], version)
			}
			// The document is terraform's own, byte for byte, not a
			// re-encoding of terraform-json's structs.
			show := exec.Command(testkit.TerraformBinary(t), "show", "-json", out)
			show.Dir = dir
			show.Env = append(testEnviron(t), "TF_DATA_DIR="+dataDir, "CHECKPOINT_DISABLE=1")
			direct, err := show.Output()
			if err != nil {
				t.Fatalf("terraform show -json: %v", err)
			}
			if !bytes.Equal(raw, direct) {
				t.Errorf("ShowPlanJSON returned %d bytes, terraform show -json prints %d: not the same document", len(raw), len(direct))
			}
			if !strings.Contains(string(raw), `"input":"`+tt.wantInput+`"`) {
				t.Errorf("plan lacks input %q", tt.wantInput)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, ".terraform")); !os.IsNotExist(err) {
		t.Errorf("init wrote .terraform into the working directory despite DataDir (stat: %v)", err)
	}
}

func TestCommandErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("missing workspace", func(t *testing.T) {
		c := newCLI(t, copyDir(t, "valid"), Options{})
		if err := c.Init(ctx, InitOptions{}); err != nil {
			t.Fatalf("Init: %v", err)
		}
		err := c.SelectWorkspace(ctx, "nope")
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Command != "workspace select" {
			t.Fatalf("SelectWorkspace = %v, want a workspace select CommandError", err)
		}
		if !strings.Contains(err.Error(), "nope") {
			t.Errorf("error %q does not name the workspace", err)
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		c := newCLI(t, copyDir(t, "syntax"), Options{})
		err := c.Init(ctx, InitOptions{SkipBackend: true})
		if err == nil || !strings.HasPrefix(err.Error(), "terraform init: main.tf:3: Invalid expression: ") {
			t.Fatalf("Init = %v, want a terraform init error at main.tf:3", err)
		}
		_, err = c.Plan(ctx, PlanOptions{Out: filepath.Join(t.TempDir(), "p")})
		if err == nil || !strings.HasPrefix(err.Error(), "terraform plan: main.tf:3: Invalid expression: ") {
			t.Fatalf("Plan = %v, want a terraform plan error at main.tf:3", err)
		}
		if strings.Contains(err.Error(), "╷") || strings.Contains(err.Error(), "exit status") {
			t.Errorf("error keeps terraform's decoration: %q", err)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		_, err := New(t.TempDir(), Options{Binary: "no-such-terraform-binary"})
		if err == nil || !strings.Contains(err.Error(), "no-such-terraform-binary") {
			t.Fatalf("New = %v, want an error naming the binary", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		bin, _ := fakeTerraform(t, "terraform", "exec sleep 30\n")
		c, err := New(t.TempDir(), Options{Binary: bin, Environ: []string{"PATH=" + os.Getenv("PATH")}, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Init(ctx, InitOptions{})
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Timeout != 300*time.Millisecond {
			t.Fatalf("Init = %v, want a timeout", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout error does not wrap context.DeadlineExceeded: %v", err)
		}
		if err.Error() != "terraform init timed out after 300ms" {
			t.Errorf("error = %q", err)
		}
	})
}

func TestParseOutput(t *testing.T) {
	text := "exit status 1\n" +
		"There are some problems with the CLI configuration:\n╷\n│ Warning: Unable to open CLI configuration file\n│\n│ The CLI configuration file at \"x\" does not exist.\n╵\n\n" +
		"╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 7, in resource \"terraform_data\" \"other\":\n│    7:   colour = \"blue\"\n" +
		"│     ├────────────────\n│     │ var.x is \"y\"\n│ \n│ An argument named \"colour\" is not expected here.\n╵\n"
	text += "╷\n│ Error: Terraform encountered problems during initialisation, including problems\n│ with the configuration, described below.\n│ \n" +
		"│ The Terraform configuration must be valid before initialization so that\n│ Terraform can determine which modules and providers need to be installed.\n╵\n"
	out, diags := parseOutput(text)
	if strings.ContainsAny(out, "╷╵") || strings.Contains(out, "exit status") {
		t.Errorf("output keeps decoration:\n%s", out)
	}
	want := []Diagnostic{
		{Severity: "warning", Summary: "Unable to open CLI configuration file", Detail: "The CLI configuration file at \"x\" does not exist."},
		{Severity: "error", Summary: "Unsupported argument", File: "main.tf", Line: 7, Detail: "An argument named \"colour\" is not expected here."},
		{Severity: "error", Summary: "Terraform encountered problems during initialisation, including problems with the configuration, described below.",
			Detail: "The Terraform configuration must be valid before initialization so that Terraform can determine which modules and providers need to be installed."},
	}
	if len(diags) != len(want) {
		t.Fatalf("diagnostics = %+v, want %+v", diags, want)
	}
	for i := range want {
		if diags[i] != want[i] {
			t.Errorf("diagnostic %d = %+v, want %+v", i, diags[i], want[i])
		}
	}
}
