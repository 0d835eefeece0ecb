# infra-agent — the commands the README names.
.PHONY: check serve test bench build terraform

# Set up (builds terraform from the Go module proxy when missing, and
# infra-agent) and run the validation pipeline on the example repository. The
# examples hold deliberate findings: exit status 1 is the expected result.
check: terraform build
	PATH="$(CURDIR)/.tools:$$PATH" bin/infra-agent check --policy examples/policy examples/envs/dev examples/envs/prod; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

# Run the GitHub App server; settings come from the environment (see README).
serve:
	go run ./cmd/infra-agent serve

# Install what the tests need (terraform, PostgreSQL) and run every test.
test:
	./scripts/test.sh

# The committed benchmarks whose figures the README quotes.
bench: terraform
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'Intake' -benchtime 20000x ./intake/
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'ServeIntake' -benchtime 1x -count 3 ./cmd/infra-agent/
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'VersusCLI' -benchtime 5x ./agent/policy/
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'RenderPlan10k$$|VersusTerraformShow' -benchtime 5x ./checks/
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'SavedPlanToResults' -benchtime 5x ./agent/pipeline/
	go test -run '^$$' -bench 'RedactPlan10k' -benchtime 5x ./checks/redact/
	go test -run '^$$' -bench 'ScannerBuild' -benchtime 1x ./checks/redact/
	go test -run '^$$' -bench 'RunnerOverhead' -benchtime 20x ./cmd/infra-agent/
	PATH="$(CURDIR)/.tools:$$PATH" go test -run '^$$' -bench 'ZeroModelShare|TaskTokens' -benchtime 1x ./agent/loop/

build:
	CGO_ENABLED=0 go build -trimpath -o bin/infra-agent ./cmd/infra-agent

terraform:
	@./scripts/terraform.sh >/dev/null
