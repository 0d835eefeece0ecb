#!/usr/bin/env bash
# The test command (make test): installs what the tests need — terraform and
# OpenTofu built from the Go module proxy, a throwaway PostgreSQL server from
# Debian's packages — then runs gofmt, go vet, every test, and short fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "terraform"
tf=$(scripts/terraform.sh)
export TERRAFORM="$tf"
export PATH="$(dirname "$tf"):$PATH"
# The whole output is read, then its first line printed: piping into head would
# let terraform die of SIGPIPE under pipefail (it writes in several calls).
tf_version=$(terraform version 2>/dev/null)
echo "${tf_version%%$'\n'*}"

step "opentofu"
# OpenTofu builds in the background (minutes on a cold machine) while the rest
# of the suite runs; only its own tests wait for it, at the end.
tofu_log=$(mktemp "${TMPDIR:-/tmp}/infra-agent-tofu.XXXXXX")
scripts/tofu.sh >"$tofu_log" 2>&1 &
tofu_pid=$!
echo "building or finding OpenTofu in the background (pid $tofu_pid)"

step "postgresql"
# The cluster lives under /tmp: as root it belongs to the postgres user, which
# must reach it through every parent directory (a checkout under /root is not).
pgdir=${INFRA_AGENT_PG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/infra-agent-pg.XXXXXX")}
chmod 0755 "$pgdir"
INFRA_AGENT_TEST_POSTGRES="$(scripts/postgres.sh start "$pgdir")"
export INFRA_AGENT_TEST_POSTGRES
cleanup() {
	scripts/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true
	[ -n "${INFRA_AGENT_PG_DIR:-}" ] || rm -rf "$pgdir"
	kill "$tofu_pid" 2>/dev/null || true
	rm -f "$tofu_log"
}
trap cleanup EXIT

step "gofmt"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "go test"
# The server's packages are concurrent (intake, store, jobs, broker): their
# tests run under the race detector. The end-to-end tests of the commands
# (real server processes, real terraform, whole jobs) run without it: under
# it they take several times as long and find nothing the packages' own
# tests do not. The runner side is dominated by real terraform runs.
# Tests whose name holds OpenTofu run last, once the binary is there.
go test -race -count=1 -skip OpenTofu ./broker/... ./command/... ./config/... ./exclusive/... ./ghclient/... ./handlers/... ./ingress/... ./intake/... \
	./internal/... ./jobs/... ./store/... ./wire/...
go test -count=1 -timeout 20m -skip OpenTofu ./cmd/...
go test -count=1 ./action/...
go test -count=1 -skip OpenTofu ./agent/... ./checks/...

step "opentofu tests"
if ! wait "$tofu_pid"; then
	cat "$tofu_log"; echo "building OpenTofu failed"; exit 1
fi
TOFU=$(tail -n 1 "$tofu_log")
export TOFU
tofu_version=$("$TOFU" version 2>/dev/null)
echo "${tofu_version%%$'\n'*}"
go test -count=1 -run OpenTofu ./agent/pipeline/ ./cmd/infra-agent/

step "fuzz (short runs)"
fuzztime=${FUZZTIME:-15s}
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime "$fuzztime" ./command/
go test -run '^$' -fuzz '^FuzzParseRepoConfig$' -fuzztime "$fuzztime" ./config/
go test -run '^$' -fuzz '^FuzzWebhookIntake$' -fuzztime "$fuzztime" ./intake/
go test -run '^$' -fuzz '^FuzzIssueCommentIgnorable$' -fuzztime "$fuzztime" ./handlers/
