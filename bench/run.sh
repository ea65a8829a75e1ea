#!/usr/bin/env bash
# cicada beside its peers, in one run, measured the same way (see ../docs/performance.md).
#
# Uses the peers harness (PEERS_DIR, default ../../shared/peers beside this repository): one
# nginx pinned to CPU 1, each generator pinned to CPU 0, requests counted by nginx's
# stub_status over a fixed window, CPU and peak RSS of the generator's process tree.
#
#   bench/run.sh                      # wrk and cicada, max and real cases, one pass (and
#                                     # wrk-think: wrk with the real case's think time)
#   bench/run.sh --repeat 2           # two passes and a min-max summary
#   PEERS="wrk,goose,locust-fast" bench/run.sh   # more peers (after PEERS_DIR/setup.sh)
#   PEERS=goose,locust-fast bench/run.sh --repeat 3 \
#     --only goose-real,locust-fast-real,wrk-think-real,cicada-real   # the real case, 4 tools
#   REAL_USERS=10000 REAL_RATE=1000 bench/run.sh --only cicada-real   # 10,000 users
#
# Every run is bounded in time and targets 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
peers_dir="${PEERS_DIR:-$repo/../shared/peers}"
if [ ! -x "$peers_dir/peers.sh" ]; then
  echo "the peers harness is not at $peers_dir (set PEERS_DIR)" >&2
  exit 2
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/time ] || missing+=(time)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

(cd "$repo" && cargo build --release --locked --bin cicada)
export CICADA_BIN="$repo/target/release/cicada"

# wrk-think: wrk itself with the real case's think time (bench/think.lua): what a C event loop
# spends on the same traffic (docs/performance.md says why it is no floor).
only="${PEERS:-wrk},wrk-think,cicada"
exec "$peers_dir/peers.sh" --only "$only" "$@" \
  --add "wrk-think|real|wrk -t1 -c{USERS} -d{SECS}s --timeout 10s -s $here/think.lua {URL}" \
  --add "cicada|max|$here/case.sh max.yaml {HOST} {USERS} {RATE} {SECS} {OUT}" \
  --add "cicada|real|$here/case.sh real.yaml {HOST} {USERS} {RATE} {SECS} {OUT}"
