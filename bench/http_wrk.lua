-- wrk script of bench/http.sh: POST the JSON body in the file named by the
-- first script argument to the URL's path, the same request every time:
--
--   wrk -t 2 -c 16 -d 10s --latency -s bench/http_wrk.lua \
--       http://127.0.0.1:PORT/v1/predict -- single.json
--
-- (one file for the single application and for the batch: the body file is
-- the parameter). At the end it prints one line for the script to read:
--
--   RESULT requests=N seconds=S rps=R p50_us=A p99_us=B max_us=M
--          http_errors=E connect=C read=R write=W timeout=T
--
-- http_errors counts the responses whose status was 400 or more (wrk's
-- "Non-2xx or 3xx responses"); connect, read, write and timeout are wrk's
-- socket errors. Latencies are wrk's exact percentiles, in microseconds.

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
      "http_errors=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50.0), latency:percentile(99.0), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout))
end
