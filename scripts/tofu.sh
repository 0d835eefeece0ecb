#!/usr/bin/env bash
# Installs the OpenTofu binary (tofu) the tests use into .tools/, building it
# from the Go module proxy when it is not there yet (no download site needed).
# Prints the binary's path.
#
# `go install github.com/opentofu/opentofu/cmd/tofu@VERSION` refuses the module:
# its go.mod replaces hcl/v2 with OpenTofu's fork, and go install ignores
# replace directives. So the module's source is fetched from the proxy
# (`go mod download`, checked against the checksum database) and built inside
# it, where its go.mod and go.sum apply, as OpenTofu's own release build does.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${TOFU_VERSION:-1.9.1}"
bin="$PWD/.tools/tofu"
# installed_version prints the version of the binary at $1, or nothing. The
# whole JSON answer is read into a variable: no pipe into a reader that may
# exit early, so no SIGPIPE under pipefail and no random rebuild.
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
echo "building OpenTofu v$version from the Go module proxy (a few minutes, once)..." >&2
module="github.com/opentofu/opentofu@v$version"
info=$(GOFLAGS=-mod=mod go mod download -json "$module")
if [[ ! $info =~ \"Dir\":[[:space:]]*\"([^\"]+)\" ]]; then
  echo "go mod download $module did not say where the source is:" >&2
  echo "$info" >&2
  exit 1
fi
src="${BASH_REMATCH[1]}"
# dev=no drops the "-dev" suffix a plain build adds to the version.
(cd "$src" && GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=0 go build -trimpath \
  -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$bin" ./cmd/tofu) >&2
got=$(installed_version "$bin")
[ "$got" = "$version" ] || { echo "OpenTofu build failed: $bin reports version '${got:-none}', want $version" >&2; exit 1; }
echo "$bin"
