#!/bin/sh
# Blocks the cloud instance metadata endpoint (169.254.169.254, and AWS's IPv6
# fd00:ec2::254) for one user with owner-matched firewall rules, so that
# neither infra-agent nor terraform, running as that user, can read the
# machine's cloud credentials. Other users (the runner itself) keep access.
#
# usage: metadata-firewall.sh USER
#
# It says in the log whether it could. It never sends traffic anywhere.
set -u
user="${1:?usage: metadata-firewall.sh USER}"
uid="$(id -u "$user" 2>/dev/null)" || { echo "infra-agent: metadata endpoint NOT blocked: no user $user"; exit 0; }

run() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

ok=1
if command -v iptables >/dev/null 2>&1 &&
  run iptables -w -I OUTPUT 1 -d 169.254.169.254/32 -m owner --uid-owner "$uid" -j REJECT; then
  :
else
  ok=0
fi
if command -v ip6tables >/dev/null 2>&1; then
  run ip6tables -w -I OUTPUT 1 -d fd00:ec2::254/128 -m owner --uid-owner "$uid" -j REJECT || true
fi

if [ "$ok" = 1 ]; then
  echo "infra-agent: metadata endpoint 169.254.169.254 blocked for user $user (uid $uid)"
else
  echo "infra-agent: metadata endpoint NOT blocked for user $user: no iptables or no root; do not run this job on a runner whose instance role can read cloud credentials" >&2
fi
