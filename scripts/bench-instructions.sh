#!/usr/bin/env bash
# Instructions per SCIM request, for the identity service and the gateway together, counted by
# valgrind's callgrind: repeatable on a noisy machine, where wall-clock rates swing by ±10%.
# Both processes start as the quick start starts them (default flags, SQLite); users are seeded
# through SCIM; counters are zeroed after a warm-up. Compare two builds with BIN=dir-of-binaries;
# OPERATIONS=off turns metrics and the provisioning log off;
# KEEP=1 keeps the callgrind files (for callgrind_annotate) and prints where.
# Needs valgrind (apt-get install valgrind) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

users="${USERS:-500}" gets="${GETS:-1000}" posts="${POSTS:-500}"
bin="${BIN:-target/release}"
[ -n "${BIN:-}" ] || cargo build --release --locked -p identity-service -p scim-gateway
work="$(mktemp -d)"
export IDENTITY_DATABASE_URL="sqlite://${work}/identity.db"
export IDENTITY_LISTEN="127.0.0.1:${IDENTITY_PORT:-50581}" SCIM_LISTEN="127.0.0.1:${SCIM_PORT:-18581}"
export SCIM_IDENTITY_URL="http://${IDENTITY_LISTEN}"
# Metrics and the provisioning log on, as the quick start has them (OPERATIONS=off measures
# without both).
if [ "${OPERATIONS:-on}" = on ]; then
  export IDENTITY_METRICS_LISTEN="127.0.0.1:${IDENTITY_METRICS_PORT:-9581}"
  export SCIM_METRICS_LISTEN="127.0.0.1:${SCIM_METRICS_PORT:-9582}"
else
  export SCIM_PROVISIONING_LOG=false
fi
base="http://${SCIM_LISTEN}/scim/v2"
drive=scripts/bench/scim_requests.py
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "callgrind files: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

start() { # start [valgrind args...]: both services, waiting for each
  "$@" "$bin/identity-service" serve >>"$work/identity.log" 2>&1 &
  pids=($!)
  for _ in $(seq 1 300); do
    "$bin/identity-service" healthcheck --addr "$SCIM_IDENTITY_URL" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$@" "$bin/scim-gateway" >>"$work/gateway.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/ServiceProviderConfig" 2>/dev/null && break
    sleep 0.2
  done
}

key=$("$bin/identity-service" init --json --new-scim-key \
  | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
start
python3 "$drive" seed "$base" "$key" "$users" "$work/ids"
kill "${pids[@]}"; wait 2>/dev/null || true

start valgrind --tool=callgrind --callgrind-out-file="$work/%p.out"
measure() { # measure NAME COUNT ARG WARM-UP-ARG
  python3 "$drive" "$1" "$base" "$key" 100 "$4"
  for pid in "${pids[@]}"; do callgrind_control -z "$pid" >/dev/null; done
  python3 "$drive" "$1" "$base" "$key" "$2" "$3"
  for pid in "${pids[@]}"; do callgrind_control -d "$1" "$pid" >/dev/null; done
  sleep 1
  local service gateway
  service=$(awk '/^(summary|totals):/ { print $2; exit }' "$(ls -t "$work/${pids[0]}".out.* | head -1)")
  gateway=$(awk '/^(summary|totals):/ { print $2; exit }' "$(ls -t "$work/${pids[1]}".out.* | head -1)")
  printf '%-5s service %9d  gateway %9d  total %9d instructions per request\n' \
    "$1" $((service / $2)) $((gateway / $2)) $(((service + gateway) / $2))
}
measure get "$gets" "$work/ids" "$work/ids"
measure lookup "$gets" "$work/ids" "$work/ids"
measure post "$posts" "post-$$" "warm-$$"
