-- The benchmark's wrk script (bench/load.py runs it): POSTs one JSON body to a GraphQL
-- endpoint, counts the responses that failed, and prints one RESULT line at the end.
--
-- Environment:
--   BENCH_BODY     the JSON body
--   BENCH_AUTH     the Authorization header (optional)
--   BENCH_CODES    a file of one-time codes, one a line (optional, W3): every request
--                  replaces @@CODE@@ in the body with the next code, each used once
--   BENCH_SKIP     how many codes of the file earlier runs used up
--   BENCH_CLEAN    "1": a response without an empty "userErrors" list is a failure
--
-- A response fails when its status is not 2xx or its body has GraphQL "errors". One
-- thread only (wrk -t1): the code counter lives in the thread. wrk calls request() once
-- before the run to check the request it builds (script_verify_request); that call takes
-- a code too, never sent: "taken" counts every code taken, so no code is used twice.

local threads = {}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local authorization = os.getenv("BENCH_AUTH")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
wrk.body = os.getenv("BENCH_BODY")

local clean = os.getenv("BENCH_CLEAN") == "1"
local codes_file = os.getenv("BENCH_CODES")
local codes, prefix, suffix

taken = 0
failed = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if codes_file == nil or codes_file == "" then
    return
  end
  codes = {}
  local skip = tonumber(os.getenv("BENCH_SKIP") or "0")
  local line_number = 0
  for line in io.lines(codes_file) do
    line_number = line_number + 1
    if line_number > skip then
      codes[#codes + 1] = line
    end
  end
  prefix, suffix = wrk.body:match("^(.-)@@CODE@@(.*)$")
end

if codes_file ~= nil and codes_file ~= "" then
  function request()
    taken = taken + 1
    -- Past the end of the pool the server is sent a code that cannot exist, and
    -- answers with a userError: counted as failed, never a code used twice.
    local code = codes[taken] or "EXHAUSTED"
    return wrk.format(nil, nil, nil, prefix .. code .. suffix)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 or body:find('"errors"%s*:') then
    failed = failed + 1
  elseif clean and not body:find('"userErrors"%s*:%s*%[%s*%]') then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total_taken, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total_taken = total_taken + thread:get("taken")
    total_failed = total_failed + thread:get("failed")
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d " ..
    "socket_errors=%d failed=%d taken=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout,
    total_failed, total_taken))
end
