package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/infra-agent/infra-agent/internal/fakegithub"
	"github.com/infra-agent/infra-agent/internal/fakeoidc"
	"github.com/infra-agent/infra-agent/wire"
)

// benchRepo is a 200-file Terraform repository: one root calling 30 local
// modules of 5 files each, its var files, and documentation.
func benchRepo() map[string][]byte {
	files := map[string][]byte{}
	root := "terraform {\n  required_version = \">= 1.5\"\n}\n"
	for m := range 30 {
		root += fmt.Sprintf("\nmodule \"m%02d\" {\n  source = \"../../modules/m%02d\"\n  name   = \"m%02d\"\n}\n", m, m, m)
		for f := range 5 {
			files[fmt.Sprintf("modules/m%02d/f%d.tf", m, f)] = []byte(fmt.Sprintf(
				"variable \"name%d\" {\n  type    = string\n  default = \"x\"\n}\n\nresource \"terraform_data\" \"r%d\" {\n  input = {\n    name = var.name%d\n    tags = { owner = \"platform\", file = \"%d\" }\n  }\n}\n", f, f, f, f))
		}
	}
	files["envs/prod/main.tf"] = []byte(root)
	for i := range 19 {
		files[fmt.Sprintf("envs/prod/vars%02d.tfvars", i)] = []byte(fmt.Sprintf("name = \"v%d\"\n", i))
	}
	for i := range 30 {
		files[fmt.Sprintf("docs/page%02d.md", i)] = []byte(fmt.Sprintf("# Page %d\n\nHow the platform team runs module m%02d.\n", i, i))
	}
	return files
}

// stubTerraform answers `version` at once and fails everything else, so the
// benchmark measures the runner, not terraform.
func stubTerraform(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "terraform")
	script := `#!/bin/sh
case "$1" in
  version) echo '{"terraform_version":"1.5.7","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}' ;;
  fmt) exit 0 ;;
  *) echo "stub: $1 is not run in this benchmark" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkRunnerOverhead measures what a runner adds to a plan job, as the
// user waits for it: the OIDC token, the claim (the server verifying the
// token, reading the repository and its configuration, minting the scoped
// token), the download of a 200-file repository and of the default branch's
// policies, compiling them, the plan and policy check runs (started and
// finished), and the complete (the server ending the job and revoking the
// token). terraform is a stub that answers at once; no model is involved.
// Everything runs over real HTTP against the fake GitHub on 127.0.0.1.
func BenchmarkRunnerOverhead(b *testing.B) {
	fake := world(b)
	oidc := fakeoidc.New(b)
	files := benchRepo()
	if len(files) != 200 {
		b.Fatalf("the repository has %d files, want 200", len(files))
	}
	fake.SetFiles(e2eOwner, e2eRepo, "topic", files)
	for name, content := range readTree(b, filepath.Join("..", "..", "examples", "policy")) {
		fake.SetFile(e2eOwner, e2eRepo, "main", "policy/"+name, content)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := startServerWith(b, fake, filepath.Join(b.TempDir(), "infra-agent.db"), map[string]string{
		"INFRA_AGENT_ADDR": addr, "INFRA_AGENT_PUBLIC_URL": "http://" + addr, "INFRA_AGENT_OIDC_ISSUER": oidc.URL,
	})
	tf := stubTerraform(b)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		commentID := int64(500_000 + i)
		fake.AddComment(e2eOwner, e2eRepo, e2ePR, fakegithub.Comment{ID: commentID, User: e2eOwner, Body: "/agent plan"})
		body := payload(b, "atlantis__githubIssueCommentEvent.json", map[string]any{
			"installation.id": 1, "comment.body": "/agent plan", "comment.id": commentID,
			"repository.owner.id": fakegithub.UserID(e2eOwner),
		})
		if got := deliver(b, srv.url, "issue_comment", fmt.Sprintf("bench-%d", i), body, e2eSecret); got != 200 {
			b.Fatalf("webhook status %d", got)
		}
		eventually(b, "the dispatch", func() bool { return len(fake.Dispatches(e2eOwner, e2eRepo)) == i+1 })
		d := fake.Dispatches(e2eOwner, e2eRepo)[i]
		c := fakeoidc.ActionsClaims(e2eOwner, fake.UserID(e2eOwner), e2eRepo, e2eRepoID, "infra-agent.yml", "main", d.RunID)
		reqURL, reqTok := oidc.ActionsRuntime(c)
		env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok,
			"INFRA_AGENT_SERVER_URL": srv.url, "RUNNER_TEMP": b.TempDir()}
		args := []string{"run", "--job", fmt.Sprint(d.Inputs[wire.WorkflowInput]), "--terraform", tf}
		b.StartTimer()
		err := run(context.Background(), args, func(k string) string { return env[k] }, stdio{out: io.Discard, err: io.Discard})
		b.StopTimer()
		if code := exitCode(err, io.Discard); code != 0 {
			b.Fatalf("infra-agent run exited %d: %v", code, err)
		}
		if pol := checkRunsNamed(fake, wire.CheckPolicy); len(pol) != i+1 || pol[i].Status != "completed" {
			b.Fatalf("the run did not publish its policy check run: %+v", pol)
		}
	}
	b.ReportMetric(float64(fake.ArchiveFetches())/float64(b.N), "archives/op")
}
