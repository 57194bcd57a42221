#!/usr/bin/env bash
# Benchmark of the change stream (release builds, on this machine): the delay between a SCIM
# deactivation's 200 and a WatchEvents subscriber receiving its event, on SQLite and on
# PostgreSQL (POSTGRES_URL, default a throwaway database on 127.0.0.1:5432), and user creation
# throughput over gRPC with the change log (compare with a build from before it).
set -euo pipefail
cd "$(dirname "$0")/.."

trials="${TRIALS:-300}" users="${USERS:-20000}"
cargo build --release --locked -p identity-service -p scim-gateway --bins --examples
bin=target/release
work="$(mktemp -d)"
pg_admin="postgres://postgres@127.0.0.1:5432/postgres"
pg_db="identity_bench_events_$$"
psql "$pg_admin" -q -c "CREATE DATABASE ${pg_db}"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$pg_admin" -q -c "DROP DATABASE IF EXISTS ${pg_db}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

for db in "sqlite://${work}/identity.db" "postgres://postgres@127.0.0.1:5432/${pg_db}"; do
  echo "== ${db%%:*}"
  keys=$("$bin/identity-service" init --json --database-url "$db")
  scim_key=$(printf '%s' "$keys" | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
  service_key=$(printf '%s' "$keys" | sed -n 's/.*"service_key":"\([^"]*\)".*/\1/p')
  "$bin/identity-service" serve --database-url "$db" --listen 127.0.0.1:50091 >"$work/identity.log" 2>&1 &
  pids=($!)
  "$bin/scim-gateway" --listen 127.0.0.1:18091 --identity-url http://127.0.0.1:50091 >"$work/gateway.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    # The gateway answers discovery on its own: wait for the service too.
    "$bin/identity-service" healthcheck --addr http://127.0.0.1:50091 >/dev/null 2>&1 \
      && curl -fsS -o /dev/null http://127.0.0.1:18091/scim/v2/ServiceProviderConfig 2>/dev/null && break
    sleep 0.1
  done
  "$bin/examples/deprovision_latency" --gateway http://127.0.0.1:18091/scim/v2 \
    --identity http://127.0.0.1:50091 --scim-key "$scim_key" --service-key "$service_key" --trials "$trials"
  "$bin/examples/loadgen" --addr http://127.0.0.1:50091 --key "$scim_key" --users "$users" \
    --seconds 1 --trials 1 | grep "seeding"
  kill "${pids[@]}"; wait 2>/dev/null || true
done
