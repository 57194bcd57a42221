#!/usr/bin/env bash
# Group PATCH through the gateway: 100 members into a 100k-member group vs into an empty one
# (target: within 1.5x). Seeds 100k users and the groups with the gRPC load generator (the
# scale part, not the path measured). Needs python3. USERS and TRIALS adjust it; BENCH_DIR
# keeps (and reuses) the seeded database. Both services start with default flags.
set -euo pipefail
cd "$(dirname "$0")/.."

users="${USERS:-100000}"
trials="${TRIALS:-30}"
work="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
db="sqlite://${work}/identity.db"

cargo build --release --locked -p identity-service -p scim-gateway --bins --examples
bin=target/release

key=$("$bin/identity-service" init --json --new-scim-key --database-url "$db" \
  | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
"$bin/identity-service" serve --database-url "$db" --listen 127.0.0.1:50081 >"$work/identity.log" 2>&1 &
pids=($!)
"$bin/scim-gateway" --listen 127.0.0.1:18081 --identity-url http://127.0.0.1:50081 >"$work/gateway.log" 2>&1 &
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
export SCIM_KEY="$key"
echo "== group PATCH"
python3 scripts/bench/group_patch.py "$base" "$trials"
