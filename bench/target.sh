#!/usr/bin/env bash
# The DynaClaimz stand-in (`cicada target`) on one core, beside nginx's static rate, measured
# the same way: the server pinned to CPU 1, `wrk -t1 -c50 -d10s` pinned to CPU 0, on
# GET /api/v1/policies (the stand-in with a valid token and a full page of 50 policies in the
# caller's organization, ~23 KB of JSON; nginx with its fixed ~1 KB body from the peers'
# nginx.conf), and the stand-in again with `?limit=2` (a body of nginx's size). Prints
# requests/s for each.
#
#   bench/target.sh                    # release build, then measure
#   NO_BUILD=1 bench/target.sh         # use the existing target/release/cicada
#   SECS=20 CONNS=100 POLICIES=10 bench/target.sh
#
# Every run is bounded in time and uses 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
peers_dir="${PEERS_DIR:-$repo/../shared/peers}"
secs="${SECS:-10}"
conns="${CONNS:-50}"
policies="${POLICIES:-50}"

for tool in wrk curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || { echo "missing: nginx (apt-get install nginx-light)" >&2; exit 2; }
[ -f "$peers_dir/nginx/nginx.conf" ] || { echo "no $peers_dir/nginx/nginx.conf (set PEERS_DIR)" >&2; exit 2; }

if [ -z "${NO_BUILD:-}" ]; then
  (cd "$repo" && cargo build --release --locked --bin cicada)
fi
bin="${CICADA_BIN:-$repo/target/release/cicada}"

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# wrk's Requests/sec, and a warning on stderr when any response was not 2xx/3xx.
measure() { # NAME URL [HEADER]
  local name=$1 url=$2 out="$tmp/wrk.$1"
  shift 2
  taskset -c 0 wrk -t1 -c"$conns" -d"${secs}s" "$@" "$url" >"$out"
  if grep -q "Non-2xx" "$out"; then
    echo "warning: $name: $(grep Non-2xx "$out")" >&2
  fi
  awk '/Requests\/sec/ {print $2}' "$out"
}

# Starts `cicada target` pinned to CPU 1 with extra flags; sets $addr.
start_target() {
  : >"$tmp/target.err"
  taskset -c 1 "$bin" target --listen 127.0.0.1:0 --worker-threads 1 --log-format text "$@" \
    >"$tmp/target.out" 2>"$tmp/target.err" &
  target_pid=$!
  pids+=("$target_pid")
  addr=""
  for _ in $(seq 1 300); do
    addr="$(grep -o 'listening on http://[0-9.:]*' "$tmp/target.err" | head -1 | sed 's|listening on http://||' || true)"
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "the target did not start:" >&2; cat "$tmp/target.err" >&2; exit 1; }
}

stop_target() {
  kill -TERM "$target_pid" 2>/dev/null || true
  wait "$target_pid" 2>/dev/null || true
}

login_and_fill() { # sets $token; creates $policies policies in the user's organization
  local email
  email="$(curl -sf "http://$addr/api/v1/users" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["email"])')"
  token="$(curl -sf "http://$addr/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"password123\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')"
  for _ in $(seq 1 "$policies"); do
    curl -sf -o /dev/null "http://$addr/api/v1/policies" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' \
      -d '{"type":"AUTO","status":"ACTIVE","startDate":"2026-01-01","endDate":"2027-01-01","premium":1200,"coverageAmount":50000}'
  done
}

# 1. The stand-in, access log off.
start_target --access-log off
login_and_fill
bytes_target="$(curl -sf "http://$addr/api/v1/policies" -H "authorization: Bearer $token" | wc -c)"
rps_target="$(measure target "http://$addr/api/v1/policies" -H "Authorization: Bearer $token")"
# The same route with a body the size of nginx's (limit=2: ~0.9 KB), for a like-for-like rate.
bytes_small="$(curl -sf "http://$addr/api/v1/policies?limit=2" -H "authorization: Bearer $token" | wc -c)"
rps_small="$(measure target-small "http://$addr/api/v1/policies?limit=2" -H "Authorization: Bearer $token")"
stop_target

# 2. The stand-in, JSON access log on (stdout to a file), as `cicada target` runs by default.
start_target --access-log on
login_and_fill
rps_target_log="$(measure target-log "http://$addr/api/v1/policies" -H "Authorization: Bearer $token")"
log_lines="$(wc -l <"$tmp/target.out")"
stop_target

# 3. nginx, the peers' configuration on a free port.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$tmp/nginx"
sed "s/127\.0\.0\.1:18080/127.0.0.1:$port/" "$peers_dir/nginx/nginx.conf" >"$tmp/nginx/nginx.conf"
taskset -c 1 "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx.err" &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
  sleep 0.1
done
bytes_nginx="$(curl -sf "http://127.0.0.1:$port/api/v1/policies" | wc -c)"
rps_nginx="$(measure nginx "http://127.0.0.1:$port/api/v1/policies")"
kill -QUIT "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true

echo
echo "GET /api/v1/policies, wrk -t1 -c$conns -d${secs}s on CPU 0, server on CPU 1:"
printf '  %-40s %12s req/s  (%s-byte body)\n' "cicada target (access log off)" "$rps_target" "$bytes_target"
printf '  %-40s %12s req/s  (%s access lines written)\n' "cicada target (JSON access log on)" "$rps_target_log" "$log_lines"
printf '  %-40s %12s req/s  (%s-byte body)\n' "cicada target ?limit=2 (log off)" "$rps_small" "$bytes_small"
printf '  %-40s %12s req/s  (%s-byte body)\n' "nginx (static)" "$rps_nginx" "$bytes_nginx"
