#!/usr/bin/env bash
# One cicada case for the peers harness: runs cicada, then prints BENCH_ERRORS=<failures> from
# its JSON report (the harness reads that line for its errors column).
# Usage: case.sh SCENARIO HOST USERS RATE SECS OUT
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin="${CICADA_BIN:-$here/../target/release/cicada}"
scenario=$1 host=$2 users=$3 rate=$4 secs=$5 out=$6
"$bin" run -f "$here/$scenario" -H "$host" -u "$users" -r "$rate" -t "${secs}s" \
  --headless --only-summary --json "$out.cicada.json"
status=$?
python3 -c 'import json,sys; print("BENCH_ERRORS=%d" % json.load(open(sys.argv[1]))["total"]["failures"])' \
  "$out.cicada.json" 2>/dev/null || echo "BENCH_ERRORS=?"
exit $status
