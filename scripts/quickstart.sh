#!/usr/bin/env bash
# Runs the product locally: the identity service on an embedded SQLite file (data/identity.db)
# and the SCIM gateway in front of it, then prints the SCIM base URL and a SCIM key.
# Ctrl-C stops both. Ports: IDENTITY_LISTEN (127.0.0.1:50051), SCIM_LISTEN (127.0.0.1:8080), and
# their metrics and probes: IDENTITY_METRICS_LISTEN (127.0.0.1:9464), SCIM_METRICS_LISTEN
# (127.0.0.1:9465).
set -euo pipefail
cd "$(dirname "$0")/.."

export IDENTITY_DATABASE_URL="${IDENTITY_DATABASE_URL:-sqlite://data/identity.db}"
export IDENTITY_LISTEN="${IDENTITY_LISTEN:-127.0.0.1:50051}"
export SCIM_LISTEN="${SCIM_LISTEN:-127.0.0.1:8080}"
export SCIM_IDENTITY_URL="http://${IDENTITY_LISTEN}"
export IDENTITY_METRICS_LISTEN="${IDENTITY_METRICS_LISTEN:-127.0.0.1:9464}"
export SCIM_METRICS_LISTEN="${SCIM_METRICS_LISTEN:-127.0.0.1:9465}"
# Where the gateway serves the admin portal, for the links the service makes.
export IDENTITY_PORTAL_URL="${IDENTITY_PORTAL_URL:-${SCIM_PUBLIC_BASE_URL:-http://${SCIM_LISTEN}}/portal}"
mkdir -p data

cargo build --release --locked -p identity-service -p scim-gateway
bin=target/release

# First run: creates the tenant and keys. Later runs: issues a fresh SCIM key for the tenant.
init=$("$bin/identity-service" init --json --new-scim-key)
scim_key=$(printf '%s' "$init" | sed -n 's/.*"scim_key":"\([^"]*\)".*/\1/p')
service_key=$(printf '%s' "$init" | sed -n 's/.*"service_key":"\([^"]*\)".*/\1/p')

pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$bin/identity-service" serve &
pids+=($!)
for _ in $(seq 1 100); do
    "$bin/identity-service" healthcheck --addr "$SCIM_IDENTITY_URL" >/dev/null 2>&1 && break
    sleep 0.1
done
"$bin/scim-gateway" &
pids+=($!)

scim_url="http://${SCIM_LISTEN}${SCIM_BASE_PATH:-/scim/v2}"
cat <<INFO

  SCIM base URL:  ${scim_url}
  SCIM API key:   ${scim_key}
  Admin portal:   ${IDENTITY_PORTAL_URL} (links for a team's admins: identity-service portal link)
  Metrics and probes (/metrics, /healthz, /readyz):
    gateway  http://${SCIM_METRICS_LISTEN}   identity service  http://${IDENTITY_METRICS_LISTEN}
INFO
if [ -n "$service_key" ]; then
    echo "  Service key (gRPC admin, all tenants; shown this once): ${service_key}"
fi
cat <<INFO

  In another shell:
    export SCIM_URL=${scim_url} SCIM_KEY=${scim_key}
    curl -s -H "Authorization: Bearer \$SCIM_KEY" "\$SCIM_URL/Users?startIndex=1&count=2"

  Ctrl-C stops both services.

INFO
wait -n
