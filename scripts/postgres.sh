#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests and prints its URL.
#
#   export INFRA_AGENT_TEST_POSTGRES="$(scripts/postgres.sh [DIR])"
#   scripts/postgres.sh stop [DIR]
#
# DIR (default .tools/pg) holds the cluster, its unix socket and its log. The
# server listens only on a unix socket in DIR, so clusters of different
# checkouts never collide on a TCP port. Re-running reuses a running server.
# When initdb is missing it installs Debian's postgresql package (as root).
# initdb refuses to run as root, so as root the cluster belongs to the
# "postgres" user (or a dedicated system user when that does not exist).
# Only the URL goes to stdout; progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

action=start
if [[ "${1:-}" == "start" || "${1:-}" == "stop" ]]; then
	action=$1
	shift
fi
dir=${1:-.tools/pg}
port=${PGPORT_TEST:-5432}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
sock=$dir/run
logfile=$dir/postgres.log

find_bindir() {
	local d
	# Newest version first.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

bindir=$(find_bindir || true)
if [[ -z $bindir ]]; then
	as_root=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo -n true 2>/dev/null || die "initdb not found; install PostgreSQL (Debian: apt-get install postgresql), or run as root or with passwordless sudo"
		as_root=(sudo -n)
	fi
	log "installing postgresql (apt-get)"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
	bindir=$(find_bindir) || die "postgresql installed but initdb not found under /usr/lib/postgresql"
fi

# as_owner runs a command as the cluster's owner.
owner=$(id -un)
as_owner() { "$@"; }
if [[ $(id -u) -eq 0 ]]; then
	owner=postgres
	if ! id "$owner" >/dev/null 2>&1; then
		owner=infra-agent-pg
		id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
	fi
	as_owner() { runuser -u "$owner" -- "$@"; }
	mkdir -p "$sock"
	chown -R "$owner" "$dir"
	# The owner must be able to reach DIR through its parents.
	as_owner test -w "$dir" || die "user $owner cannot write $dir: make its parent directories world-searchable (chmod o+x) or pass another DIR"
fi

pg_ctl() { as_owner "$bindir/pg_ctl" "$@"; }

if [[ $action == stop ]]; then
	if [[ -f $data/PG_VERSION ]] && pg_ctl status -D "$data" >/dev/null 2>&1; then
		pg_ctl stop -D "$data" -m fast -w >&2
	fi
	exit 0
fi

if [[ ! -f $data/PG_VERSION ]]; then
	log "initialising a cluster in $data"
	rm -rf "$data"
	as_owner mkdir -p "$data" "$sock"
	# trust: the socket lives in DIR (mode 0700 below) and the cluster holds
	# nothing but test data.
	as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >&2
	chmod 0700 "$dir"
fi

if ! pg_ctl status -D "$data" >/dev/null 2>&1; then
	log "starting the server ($logfile)"
	as_owner mkdir -p "$sock"
	# max_connections: the store tests open a pool per parallel test.
	pg_ctl start -D "$data" -l "$logfile" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$sock' -p $port -c max_connections=300" >&2 ||
		{ tail -n 20 "$logfile" >&2 || true; die "the server did not start"; }
fi

as_owner "$bindir/pg_isready" -q -h "$sock" -p "$port" -t 30 || die "the server does not accept connections on $sock"
echo "postgres://postgres@/postgres?host=$sock&port=$port&sslmode=disable"
