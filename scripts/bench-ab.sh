#!/usr/bin/env bash
# Wall clock, two builds side by side: GET /Users/{id} and POST /Users through the gateway with
# wrk, both services started as the quick start starts them (default flags, SQLite), pinned to
# core 0, wrk to core 1; the builds alternate, TRIALS times each (timings on a shared machine
# only compare within one run), with both processes' CPU time per request. Needs wrk, taskset
# and python3.
#   scripts/bench-ab.sh BEFORE_DIR AFTER_DIR     (each holding identity-service and scim-gateway)
# BEFORE_ENV / AFTER_ENV: arguments for env(1) that start one side differently, e.g. the same
# build without metrics and the provisioning log:
#   AFTER_ENV="-u IDENTITY_METRICS_LISTEN -u SCIM_METRICS_LISTEN SCIM_PROVISIONING_LOG=false"
# One key drives all the load, so the per-key rate limit is lifted (SCIM_RATE_LIMIT=0) on both.
set -euo pipefail
cd "$(dirname "$0")/.."
before="$1" after="$2" trials="${TRIALS:-3}"
export SCIM_RATE_LIMIT=0

# Both processes' CPU time (user and system) per request is steadier than req/s where other
# machines' load comes and goes: it does not count the time the core was taken away.
measure() { # measure SERVICE-PID GATEWAY-PID BASE SCRIPT: "N req/s (M us CPU a request)"
  local before after out
  before=$(awk '{ total += $14 + $15 } END { print total }' "/proc/$1/stat" "/proc/$2/stat")
  out=$(taskset -c 1 wrk -t1 -c16 -d10s -s "scripts/bench/$4.lua" "$3")
  after=$(awk '{ total += $14 + $15 } END { print total }' "/proc/$1/stat" "/proc/$2/stat")
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 }
    END { printf "%9s req/s (%5.1f us CPU a request)", rps, ticks * 1e6 / hz / n }' <<<"$out"
}

run() { # run BIN LABEL PORT ENV-ARGS
  local bin=$1 label=$2 port=$3 envs=$4 work ip gp key base get post
  work=$(mktemp -d)
  export IDENTITY_DATABASE_URL="sqlite://$work/identity.db" IDENTITY_LISTEN="127.0.0.1:$port"
  export SCIM_LISTEN="127.0.0.1:$((port + 1))" SCIM_IDENTITY_URL="http://127.0.0.1:$port"
  # Metrics on, as the quick start has them (builds without --metrics-listen ignore these).
  export IDENTITY_METRICS_LISTEN="127.0.0.1:$((port + 2))" SCIM_METRICS_LISTEN="127.0.0.1:$((port + 3))"
  key=$("$bin/identity-service" init --json --new-scim-key | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
  # shellcheck disable=SC2086 # envs is a list of env(1) arguments
  env $envs taskset -c 0 "$bin/identity-service" serve >"$work/identity.log" 2>&1 &
  ip=$!
  for _ in $(seq 100); do "$bin/identity-service" healthcheck --addr "$SCIM_IDENTITY_URL" >/dev/null 2>&1 && break; sleep 0.1; done
  # shellcheck disable=SC2086
  env $envs taskset -c 0 "$bin/scim-gateway" >"$work/gateway.log" 2>&1 &
  gp=$!
  base="http://$SCIM_LISTEN/scim/v2"
  for _ in $(seq 100); do curl -fsS -o /dev/null "$base/ServiceProviderConfig" 2>/dev/null && break; sleep 0.1; done
  python3 scripts/bench/scim_requests.py seed "$base" "$key" 2000 "$work/ids" >/dev/null
  export SCIM_KEY=$key IDS_FILE=$work/ids
  taskset -c 1 wrk -t1 -c16 -d3s -s scripts/bench/get.lua "$base" >/dev/null
  get=$(measure "$ip" "$gp" "$base" get)
  post=$(measure "$ip" "$gp" "$base" post)
  printf '%-6s GET %s   POST %s\n' "$label" "$get" "$post"
  kill "$ip" "$gp"
  wait "$ip" "$gp" 2>/dev/null || true
  rm -rf "$work"
}
for _ in $(seq "$trials"); do
  run "$before" before 20611 "${BEFORE_ENV:-}"
  run "$after" after 20621 "${AFTER_ENV:-}"
done
