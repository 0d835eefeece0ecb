#!/bin/sh
# Installs infra-agent and terraform (or OpenTofu) into $BIN_DIR, each
# checksum-verified, and prepares the unprivileged user the job runs as.
#
# Environment: BIN_DIR, ACTION_PATH (the action's own checkout),
# INFRA_AGENT_VERSION and INFRA_AGENT_SHA256 (a release download; without a
# checksum infra-agent is built from the action's source, which its commit
# pins), TF_BINARY (terraform|tofu), TF_VERSION, RUN_USER.
set -eu
: "${BIN_DIR:?}" "${ACTION_PATH:?}" "${TF_BINARY:?}" "${TF_VERSION:?}" "${RUN_USER:?}"
mkdir -p "$BIN_DIR"
os=linux
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) echo "unsupported machine $(uname -m)" >&2; exit 1 ;; esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# infra-agent
if [ -n "${INFRA_AGENT_SHA256:-}" ]; then
  name="infra-agent_${INFRA_AGENT_VERSION}_${os}_${arch}.tar.gz"
  curl -fsSL -o "$tmp/$name" "https://github.com/infra-agent/infra-agent/releases/download/v${INFRA_AGENT_VERSION}/$name"
  echo "${INFRA_AGENT_SHA256}  $tmp/$name" | sha256sum -c -
  tar -xzf "$tmp/$name" -C "$tmp" infra-agent
  install -m 0755 "$tmp/infra-agent" "$BIN_DIR/infra-agent"
else
  (cd "$ACTION_PATH" && CGO_ENABLED=0 go build -trimpath -mod=readonly -o "$BIN_DIR/infra-agent" ./cmd/infra-agent)
fi

# terraform or OpenTofu, verified against the vendor's SHA256SUMS
case "$TF_BINARY" in
  terraform)
    base="https://releases.hashicorp.com/terraform/${TF_VERSION}"
    zip="terraform_${TF_VERSION}_${os}_${arch}.zip"; sums="terraform_${TF_VERSION}_SHA256SUMS" ;;
  tofu)
    base="https://github.com/opentofu/opentofu/releases/download/v${TF_VERSION}"
    zip="tofu_${TF_VERSION}_${os}_${arch}.zip"; sums="tofu_${TF_VERSION}_SHA256SUMS" ;;
  *) echo "terraform must be terraform or tofu, not $TF_BINARY" >&2; exit 1 ;;
esac
curl -fsSL -o "$tmp/$zip" "$base/$zip"
curl -fsSL -o "$tmp/$sums" "$base/$sums"
(cd "$tmp" && grep " $zip\$" "$sums" | sha256sum -c -)
unzip -q -o "$tmp/$zip" -d "$tmp/tf"
install -m 0755 "$tmp/tf/$TF_BINARY" "$BIN_DIR/$TF_BINARY"

# the unprivileged user
if [ "$(id -un)" != "$RUN_USER" ] && ! id -u "$RUN_USER" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_USER"
  else sudo -n useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_USER"; fi
fi
