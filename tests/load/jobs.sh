#!/usr/bin/env bash
# Job throughput of 1, 2 or 3 worker processes sharing one PostgreSQL
# database (not part of CI). Each of WORKERS `millrace worker` processes
# starts COUNT/WORKERS instances of a process of ten asynchronous
# continuations and works jobs until none is left; all workers share one
# queue. Prints instances and jobs per second over the whole run.
#   tests/load/jobs.sh WORKERS [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
WORKERS=${1:?usage: tests/load/jobs.sh WORKERS [COUNT]}
COUNT=${2:-3000}
cargo build --release --quiet
BIN=$PWD/target/release/millrace
if [ -z "${MILLRACE_PG_URL:-}" ]; then
  eval "$(scripts/postgres-scratch.sh start 55498)"
  trap 'scripts/postgres-scratch.sh stop "$MILLRACE_PG_DIR"' EXIT
fi
SCHEMA=jobs_$(date +%s%N)
psql -q "$MILLRACE_PG_URL" -c "CREATE SCHEMA $SCHEMA"
DB="$MILLRACE_PG_URL?options=-c%20search_path%3D$SCHEMA"
"$BIN" deploy --database "$DB" tests/fixtures/load/jobs10.bpmn >/dev/null
START=$(date +%s.%N)
for _ in $(seq "$WORKERS"); do
  "$BIN" worker --database "$DB" --start jobs10 --count $((COUNT / WORKERS)) --until-idle >/dev/null &
done
wait
END=$(date +%s.%N)
DONE=$(psql -qtA "$DB" -c "SELECT COUNT(*) FROM instances WHERE state = 'completed'")
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); d=int(sys.argv[3]); w=sys.argv[4]; print(f'workers={w} instances_completed={d} seconds={s:.1f} instances_per_s={d/s:.0f} jobs_per_s={d*10/s:.0f}')" "$START" "$END" "$DONE" "$WORKERS"
