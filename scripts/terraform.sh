#!/usr/bin/env bash
# Installs the terraform binary the tests and `make check` use into .tools/,
# building it from the Go module proxy when it is not there yet (no download
# site needed). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${TERRAFORM_VERSION:-1.5.7}"
bin="$PWD/.tools/terraform"
# installed_version prints the version of the binary at $1, or nothing. It reads
# terraform's whole JSON answer into a variable and keeps stderr out of it (a
# missing TF_CLI_CONFIG_FILE makes terraform warn there): no pipe into a reader
# that may exit early, so no SIGPIPE under pipefail and no random rebuild.
installed_version() {
  local out
  [ -x "$1" ] || return 0
  out=$("$1" version -json 2>/dev/null) || return 0
  if [[ $out =~ \"terraform_version\":[[:space:]]*\"([^\"]+)\" ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
  fi
}

if [ "$(installed_version "$bin")" = "$version" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p .tools
echo "building terraform v$version from the Go module proxy (a few minutes, once)..." >&2
GOBIN="$PWD/.tools" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@v$version" >&2
got=$(installed_version "$bin")
[ "$got" = "$version" ] || { echo "terraform build failed: $bin reports version '${got:-none}', want $version" >&2; exit 1; }
echo "$bin"
