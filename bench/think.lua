-- wrk with think time: a C generator beside cicada in the "real" case (see docs/performance.md;
-- its timers make it no floor). Each connection waits a uniform 1-5 s (BENCH_WAIT_MIN/MAX
-- seconds) before every request, as a user thinking between requests would.
local min_ms = tonumber(os.getenv("BENCH_WAIT_MIN") or "1") * 1000
local max_ms = tonumber(os.getenv("BENCH_WAIT_MAX") or "5") * 1000

function delay()
  return math.random(min_ms, max_ms)
end

-- The harness reads its errors column from this line.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_ERRORS=%d\n", e.connect + e.read + e.write + e.status + e.timeout))
end
