#!/bin/sh
# Runs `infra-agent run` as the unprivileged user, with only the variables it
# needs: the Actions runtime's OIDC request (for the claim), the server URL,
# and the cloud credentials the workflow set up for terraform. The job's
# workspace is a directory only that user can read.
set -eu
: "${BIN_DIR:?}" "${INFRA_AGENT_SERVER_URL:?}" "${JOB_ID:?}" "${RUN_USER:?}" "${RUNNER_TEMP:?}"
work="$RUNNER_TEMP/infra-agent-work"
keep="ACTIONS_ID_TOKEN_REQUEST_URL,ACTIONS_ID_TOKEN_REQUEST_TOKEN,INFRA_AGENT_SERVER_URL,TF_PLUGIN_CACHE_DIR"
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\|ARM_[A-Z0-9_]*\|GOOGLE_[A-Z0-9_]*\|CLOUDSDK_[A-Z0-9_]*\|TF_VAR_[A-Za-z0-9_]*\)=.*/\1/p'); do
  keep="$keep,$v"
done

as_user() {
  if [ "$(id -un)" = "$RUN_USER" ]; then "$@"; return; fi
  if sudo -n true 2>/dev/null; then
    sudo -n mkdir -p "$work" && sudo -n chown "$RUN_USER" "$work" && sudo -n chmod 0700 "$work"
    exec sudo -n -u "$RUN_USER" --preserve-env="$keep" env PATH="$BIN_DIR:/usr/bin:/bin" HOME="$work" "$@"
  fi
  echo "infra-agent: cannot switch to user $RUN_USER (no root, no sudo); running as $(id -un)" >&2
  mkdir -p "$work" && chmod 0700 "$work"
  PATH="$BIN_DIR:$PATH" "$@"
}

as_user infra-agent run --job "$JOB_ID" --server "$INFRA_AGENT_SERVER_URL" --work-dir "$work"
