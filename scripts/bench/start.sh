# Sourced by the benchmarks: starts the product as the README does (scripts/quickstart.sh,
# default flags) in the background and waits until its SCIM key answers.
#   start_product LOG [PREFIX...]   # PREFIX: e.g. `taskset -c 0`; sets $key
# Expects $work (a scratch directory, removed on exit), SCIM_LISTEN and $base to be set.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_product() {
  local log=$1
  shift
  "$@" scripts/quickstart.sh >"$log" 2>&1 &
  pids+=($!)
  key=""
  for _ in $(seq 1 600); do
    key=$(sed -n 's/.*SCIM API key: *\(idscim_[0-9a-f]*\).*/\1/p' "$log" | tail -1)
    [ -n "$key" ] && curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$base/Users?count=1" 2>/dev/null && return
    sleep 0.2
  done
  cat "$log"
  exit 1
}
