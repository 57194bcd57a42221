#!/usr/bin/env bash
# Benchmark of the SCIM gateway (release builds, on this machine): GET /Users/{id}, Okta's
# userName lookup and POST /Users through the gateway, next to a bare axum handler answering a
# canned User (the ceiling), then a group PATCH of 100 members into a 100k-member group vs an
# empty one. Needs wrk and python3. USERS, DURATION, CONNECTIONS, THREADS, TRIALS adjust it;
# BENCH_DIR keeps (and reuses) the seeded database. WORKERS (default 1) sets the worker threads
# of both services: wrk, the gateway and the service share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."

users="${USERS:-100000}" duration="${DURATION:-10s}" connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}" trials="${TRIALS:-30}" workers="${WORKERS:-1}"
work="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
db="sqlite://${work}/identity.db"

cargo build --release --locked -p identity-service -p scim-gateway --bins --examples
bin=target/release

key=$("$bin/identity-service" init --json --new-scim-key --database-url "$db" \
  | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
"$bin/identity-service" --worker-threads "$workers" serve --database-url "$db" --listen 127.0.0.1:50081 >"$work/identity.log" 2>&1 &
pids=($!)
"$bin/scim-gateway" --worker-threads "$workers" --listen 127.0.0.1:18081 --identity-url http://127.0.0.1:50081 >"$work/gateway.log" 2>&1 &
pids+=($!)
"$bin/examples/ceiling" 127.0.0.1:18082 >/dev/null &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  # The gateway answers discovery on its own: wait for the service too.
  "$bin/identity-service" healthcheck --addr http://127.0.0.1:50081 >/dev/null 2>&1 \
    && curl -fsS -o /dev/null http://127.0.0.1:18081/scim/v2/ServiceProviderConfig 2>/dev/null && break
  sleep 0.1
done

echo "== seeding ${users} users and the groups (gRPC load generator; skipped when present)"
"$bin/examples/loadgen" --addr http://127.0.0.1:50081 --key "$key" --users "$users" \
  --seconds 1 --trials 1 | grep -E "seeding|store holds|filled" || true

base=http://127.0.0.1:18081/scim/v2
ids="$work/ids.txt"
: >"$ids"
for start in $(seq 1 1000 "$users"); do
  curl -fsS -H "Authorization: Bearer $key" "$base/Users?attributes=id&count=1000&startIndex=$start" \
    | grep -o '"id":"[^"]*"' | cut -d'"' -f4 >>"$ids"
done
echo "== $(wc -l <"$ids") user ids; wrk -t${threads} -c${connections} -d${duration}; ${workers} worker thread(s) per service"

export SCIM_KEY="$key" IDS_FILE="$ids" USERS="$users"
run() {
  echo "-- $1"
  shift
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" \
    | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
}
run "ceiling: bare axum, canned User" "http://127.0.0.1:18082/scim/v2/Users/x"
run "GET /Users/{id}" -s scripts/bench/get.lua "$base"
run "GET /Users?filter=userName eq \"…\"" -s scripts/bench/lookup.lua "$base"
run "POST /Users" -s scripts/bench/post.lua "$base"

echo "== group PATCH"
python3 scripts/bench/group_patch.py "$base" "$trials"
