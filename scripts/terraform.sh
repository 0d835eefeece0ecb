#!/usr/bin/env bash
# Installs the terraform binary the tests and `make check` use into .tools/,
# building it from the Go module proxy when it is not there yet (no download
# site needed). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${TERRAFORM_VERSION:-1.5.7}"
bin="$PWD/.tools/terraform"
if [ -x "$bin" ] && "$bin" version 2>/dev/null | head -n1 | grep -q "Terraform v$version\$"; then
  echo "$bin"
  exit 0
fi
mkdir -p .tools
echo "building terraform v$version from the Go module proxy (a few minutes, once)..." >&2
GOBIN="$PWD/.tools" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@v$version" >&2
"$bin" version >/dev/null 2>&1 || { echo "terraform build failed" >&2; exit 1; }
echo "$bin"
