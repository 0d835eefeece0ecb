package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSProviderServesSchemas runs the real terraform against the mirrored
// test provider: init installs it offline, validate applies its schemas (an
// unknown attribute is an error), plan shows the replace a forcing attribute
// causes.
func TestAWSProviderServesSchemas(t *testing.T) {
	m := AWSProvider(t)
	tf := TerraformBinary(t)
	dir := t.TempDir()
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(m.Environ(), "TF_DATA_DIR="+filepath.Join(dir, ".data"), "CHECKPOINT_DISABLE=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write(`
provider "aws" {
  region = "eu-west-1"
}

resource "aws_s3_bucket" "logs" {
  bucket = "logs"
  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "aws:kms"
      }
    }
  }
}
`)
	if out, err := run("init", "-input=false", "-backend=false"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if out, err := run("validate", "-no-color"); err != nil {
		t.Fatalf("validate of a valid configuration: %v\n%s", err, out)
	}
	if out, err := run("plan", "-no-color", "-input=false", "-lock=false"); err != nil || !strings.Contains(out, "1 to add") {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	write(`
resource "aws_s3_bucket" "logs" {
  bucket     = "logs"
  encryption = true
}
`)
	out, err := run("validate", "-no-color")
	if err == nil || !strings.Contains(out, `An argument named "encryption" is not expected here`) {
		t.Fatalf("validate accepted an attribute the schema does not have: %v\n%s", err, out)
	}
}
