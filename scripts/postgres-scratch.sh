#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests and trials: initdb in a temporary
# directory, listening on loopback only, trust authentication, one database
# `millrace`. Installs Debian's `postgresql` package when pg_ctl is missing.
#
#   scripts/postgres-scratch.sh start [PORT]   prints shell lines to eval:
#       MILLRACE_PG_URL   postgres://millrace@127.0.0.1:PORT/millrace
#       MILLRACE_PG_DIR   the cluster's directory
#       MILLRACE_PG_CTL   the pg_ctl command for it (run as the cluster's owner)
#   scripts/postgres-scratch.sh stop DIR        stops it and removes DIR
set -euo pipefail

# The newest server's bin directory; empty when only the client is installed
# (postgresql-client has /usr/lib/postgresql/N/bin too, without initdb).
bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$d" ] && command -v initdb >/dev/null; then d=$(command -v initdb); fi
    if [ -n "$d" ]; then dirname "$d"; fi
}

# initdb refuses to run as root: as root, the cluster belongs to `postgres`.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    port=${2:-55432}
    if [ -z "$(bindir)" ] || ! id postgres >/dev/null 2>&1; then
        echo "installing postgresql from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
        # The package starts a cluster of its own; tests use theirs only.
        (service postgresql stop || true) >/dev/null 2>&1
    fi
    bin=$(bindir)
    dir=$(mktemp -d /tmp/millrace-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    # A start that fails half-way stops what it started and removes the folder.
    trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
    as_owner "$bin/initdb" -D "$dir/data" -U millrace --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            -c max_connections=300 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on" \
        start >&2
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U millrace millrace
    trap - ERR
    if [ "$(id -u)" = 0 ]; then ctl="runuser -u postgres -- $bin/pg_ctl -D $dir/data -l $dir/server.log"; else ctl="$bin/pg_ctl -D $dir/data -l $dir/server.log"; fi
    echo "export MILLRACE_PG_URL=postgres://millrace@127.0.0.1:$port/millrace"
    echo "export MILLRACE_PG_DIR=$dir"
    echo "export MILLRACE_PG_CTL='$ctl'"
    ;;
stop)
    dir=${2:?usage: postgres-scratch.sh stop DIR}
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start [PORT] | stop DIR" >&2
    exit 2
    ;;
esac
