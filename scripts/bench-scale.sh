#!/usr/bin/env bash
# The product at scale, as users start it: the README's quick start (scripts/quickstart.sh,
# default flags, SQLite — or PostgreSQL with IDENTITY_DATABASE_URL=postgres://…) seeded with one
# tenant of USERS users (1,000,000) through `identity-service user import` (the bulk path users
# have) and a group of MEMBERS members (100,000) through SCIM PATCHes of 100, as Okta pushes
# them. Reports: Okta's userName lookup p50 at 1,000 users and at USERS; a page of 100 at the
# start and at the end (out of the blue, and as reached by a walk); the time of a full SCIM walk
# in pages of 100; a PATCH of +100 members into the big group vs into an empty one;
# GET /Groups/{id} of the big group (time, peak RSS growth of both processes) and with
# excludedAttributes=members; the service's RSS at rest; the database's size per user.
#
# Like scripts/bench-gateway.sh it sets SCIM_RATE_LIMIT=0 (one key drives everything). Needs
# curl and python3. Takes about four minutes on SQLite, a little more on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

users="${USERS:-1000000}" members="${MEMBERS:-100000}"
work="$(mktemp -d)"
export IDENTITY_DATABASE_URL="${IDENTITY_DATABASE_URL:-sqlite://${work}/identity.db}"
export IDENTITY_LISTEN=127.0.0.1:50093 SCIM_LISTEN=127.0.0.1:18093
export IDENTITY_METRICS_LISTEN=127.0.0.1:9493 SCIM_METRICS_LISTEN=127.0.0.1:9494
export SCIM_RATE_LIMIT=0
base="http://${SCIM_LISTEN}/scim/v2"
scale() { python3 scripts/bench/scale.py "$@"; }

cargo build --release --locked -p identity-service -p scim-gateway
. scripts/bench/start.sh
start_product "$work/quickstart.log"
service_key=$(sed -n 's/.*Service key.*: *\(idsvc_[0-9a-f]*\).*/\1/p' "$work/quickstart.log")
[ -n "$service_key" ] || { echo "a fresh database prints the service key; it did not" >&2; exit 1; }
tenant=$(target/release/identity-service tenant list --addr "$IDENTITY_LISTEN" --key "$service_key" |
  awk 'NR == 2 { print $1 }')
service_pid=$(pgrep -f "^target/release/identity-service serve" | head -1)
gateway_pid=$(pgrep -f "^target/release/scim-gateway" | head -1)

import() { # import FIRST COUNT
  scale users "$work/users.jsonl" "$1" "$2"
  local started=$SECONDS
  target/release/identity-service user import "$work/users.jsonl" --tenant "$tenant" \
    --addr "$IDENTITY_LISTEN" --key "$service_key" >/dev/null
  echo "imported $2 users in $((SECONDS - started)) s"
}

import 0 1000
lookup_small=$(scale lookup "$base" "$key" 1000)
import 1000 $((users - 1000))
lookup_large=$(scale lookup "$base" "$key" "$users")
read -r first_cold first_page <<<"$(scale page "$base" "$key" 1)"
read -r deep_cold deep_page <<<"$(scale page "$base" "$key" $((users - 99)))"
walk=$(scale walk "$base" "$key" "$work/ids" $((members + 3000)))
read -r group_id group_seconds <<<"$(scale group "$base" "$key" "$work/ids")"
patch=$(scale patch "$base" "$key" "$group_id" "$work/ids.others" 30)
group_get=$(scale group-get "$base" "$key" "$group_id" "$service_pid" "$gateway_pid")
sleep 2
rss=$(scale rss "$service_pid")
case "$IDENTITY_DATABASE_URL" in
  postgres*) bytes=$(psql "$IDENTITY_DATABASE_URL" -Atc "SELECT pg_database_size(current_database())") ;;
  *) bytes=$(du -cb "$work"/identity.db* | tail -1 | cut -f1) ;;
esac

cat <<REPORT

== ${users} users, a group of ${members} ($(case "$IDENTITY_DATABASE_URL" in postgres*) echo PostgreSQL ;; *) echo SQLite ;; esac))
userName lookup p50:           ${lookup_small} ms at 1,000 users, ${lookup_large} ms at ${users} ($(awk -v a="$lookup_large" -v b="$lookup_small" 'BEGIN { printf "%.2f", a / b }')x)
page of 100 out of the blue:   startIndex=1: ${first_cold} ms first, ${first_page} ms p50 after; startIndex=$((users - 99)): ${deep_cold} ms first, ${deep_page} ms p50 after
full walk in pages of 100:     ${walk}
group of ${members}:         built in ${group_seconds} s through SCIM PATCHes of 100
membership push:               ${patch}
GET /Groups/{id}:              ${group_get} (service, gateway)
service RSS at rest:           ${rss}
database size:                 $((bytes / 1024 / 1024)) MB, $((bytes / users)) bytes per user
REPORT
