#!/usr/bin/env bash
# The gateway as users start it, against the ceiling, in one run: both services started by the
# README's own quick start (scripts/quickstart.sh, default flags, SQLite — or PostgreSQL with
# IDENTITY_DATABASE_URL=postgres://…) and pinned to core 0 with a bare axum server answering a
# canned SCIM User (the ceiling, scim-gateway/examples/ceiling.rs), wrk pinned to core 1.
# Users are seeded through SCIM. Reports req/s, p50 and p99 of GET /Users/{id}, Okta's userName
# lookup and POST /Users (wrk -t1 -c16), each as a share of the ceiling, and the p50 of one
# connection (-c1).
#
# One flag differs from the quick start: SCIM_RATE_LIMIT=0. One key drives all the load, and by
# default a key gets 500 requests a second on a replica (README, "Limits") — with it on, this
# would measure the limiter. Needs wrk, taskset, curl and python3.
# USERS (2000), DURATION (10s) adjust it; on 2 cores, processes share core 0 as documented.
set -euo pipefail
cd "$(dirname "$0")/.."

users="${USERS:-2000}" duration="${DURATION:-10s}"
work="$(mktemp -d)"
export IDENTITY_DATABASE_URL="${IDENTITY_DATABASE_URL:-sqlite://${work}/identity.db}"
export IDENTITY_LISTEN=127.0.0.1:50091 SCIM_LISTEN=127.0.0.1:18091
export IDENTITY_METRICS_LISTEN=127.0.0.1:9491 SCIM_METRICS_LISTEN=127.0.0.1:9492
export SCIM_RATE_LIMIT=0
ceiling_addr=127.0.0.1:18092
base="http://${SCIM_LISTEN}/scim/v2"

# The ceiling, then the binaries exactly as the quick start builds them (so that its own build
# is a no-op: examples unify other features).
cargo build --release --locked -p scim-gateway --example ceiling
cargo build --release --locked -p identity-service -p scim-gateway
. scripts/bench/start.sh
# The quick start, as the README runs it, on core 0 (its children inherit the affinity).
start_product "$work/quickstart.log" taskset -c 0
taskset -c 0 target/release/examples/ceiling "$ceiling_addr" >/dev/null &
pids+=($!)

echo "== seeding ${users} users through SCIM"
python3 scripts/bench/scim_requests.py seed "$base" "$key" "$users" "$work/ids"
export SCIM_KEY="$key" IDS_FILE="$work/ids" USERS="$users" NAME_FORMAT="seed-%06d@example.com"

# wrk on core 1; prints "req/s p50 p99" (latencies in ms).
measure() { # measure CONNECTIONS URL [wrk args...]
  local connections=$1 url=$2
  shift 2
  taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency "$@" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, bad + 0 }'
}
ceiling=$(measure 16 "http://${ceiling_addr}/scim/v2/Users/x")
ceiling_rps=${ceiling%% *}
printf '\n%-38s %10s %9s %9s %9s %12s\n' endpoint "req/s" "p50 ms" "p99 ms" "ceiling" "p50 ms (c1)"
report() { # report NAME RESULT SINGLE
  read -r rps p50 p99 bad <<<"$2"
  read -r _ single _ _ <<<"$3"
  printf '%-38s %10s %9s %9s %8.1f%% %12s' "$1" "$rps" "$p50" "$p99" \
    "$(awk -v a="$rps" -v b="$ceiling_rps" 'BEGIN { print 100 * a / b }')" "$single"
  [ "$bad" = 0 ] && echo || echo "   ($bad non-2xx!)"
}
report "ceiling (bare axum, canned User)" "$ceiling" "$(measure 1 "http://${ceiling_addr}/scim/v2/Users/x")"
report "GET /Users/{id}" "$(measure 16 "$base" -s scripts/bench/get.lua)" \
  "$(measure 1 "$base" -s scripts/bench/get.lua)"
report "GET /Users?filter=userName eq \"…\"" "$(measure 16 "$base" -s scripts/bench/lookup.lua)" \
  "$(measure 1 "$base" -s scripts/bench/lookup.lua)"
report "POST /Users" "$(measure 16 "$base" -s scripts/bench/post.lua)" \
  "$(measure 1 "$base" -s scripts/bench/post.lua)"
