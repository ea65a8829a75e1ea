#!/usr/bin/env bash
# The master under load from many workers: a real `cicada master` (release build) and N
# simulated workers (crates/cluster/examples/simulated_workers.rs) speaking the real protocol,
# each sending a heartbeat every second and a statistics report of ENTRIES request names (HDR
# histograms) every two seconds. Prints the master's CPU (% of one core, averaged over the
# run), its peak memory, and how long it took to acknowledge reports (a master that lags
# shows a growing acknowledgement latency).
#
#   bench/master.sh                          # 50 workers x 1,000 entries, 60 s
#   WORKERS=100 SECS=30 bench/master.sh
#   NO_BUILD=1 bench/master.sh               # use the existing release binaries
#
# Bounded in time; 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
workers="${WORKERS:-50}"
entries="${ENTRIES:-1000}"
secs="${SECS:-60}"

if [ -z "${NO_BUILD:-}" ]; then
  (cd "$repo" && cargo build --release --locked --bin cicada \
    && cargo build --release --locked -p cicada-cluster --example simulated_workers)
fi
bin="${CICADA_BIN:-$repo/target/release/cicada}"
sim="${SIM_BIN:-$repo/target/release/examples/simulated_workers}"

tmp="$(mktemp -d)"
master_pid=""
cleanup() {
  [ -n "$master_pid" ] && kill "$master_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/s.yaml" <<'YAML'
users:
  - name: U
    tasks: [ { request: { path: / } } ]
YAML
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" master -f "$tmp/s.yaml" -H http://127.0.0.1:9 --web-port 0 \
  --master-bind "127.0.0.1:$port" --max-entries "$entries" --log-level warn \
  > "$tmp/master.out" 2> "$tmp/master.err" &
master_pid=$!
for _ in $(seq 50); do
  grep -q "web UI:" "$tmp/master.out" 2>/dev/null && break
  sleep 0.1
done
web="$(sed -n 's/^web UI: //p' "$tmp/master.out")"

ticks="$(getconf CLK_TCK)"
cpu() { awk '{print $14 + $15}' "/proc/$master_pid/stat"; }
before="$(cpu)"
"$sim" --master "127.0.0.1:$port" --workers "$workers" --entries "$entries" --secs "$secs" \
  > "$tmp/sim.out"
after="$(cpu)"
rows="$(curl -s "${web}api/stats" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')"
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$master_pid/status")"
echo "master with $workers simulated workers x $entries entries, ${secs}s:"
echo "  master CPU: $(python3 -c "print(round(($after-$before)/$ticks/$secs*100, 1))") % of one core"
echo "  master peak RSS: $((hwm / 1024)) MiB; statistics rows: $rows"
echo "  $(cat "$tmp/sim.out")"
