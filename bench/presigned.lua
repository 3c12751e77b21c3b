-- wrk script: replays pre-signed requests, each signature (unique jti) used exactly once.
-- usage: wrk -t T -c C -d D -s bench/presigned.lua URL -- SIGS_FILE TOKEN PATH
-- Thread n of T takes lines n, n+T, n+2T, ... so no two requests share a jti.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, token, path = args[1], args[2], args[3]
  sigs = {}
  local n = 0
  for line in io.lines(file) do
    if n % counter_total() == id then sigs[#sigs + 1] = line end
    n = n + 1
  end
  auth = "Bearer " .. token
  target = path
  i = 0
  non200 = 0
  exhausted = 0
end

function counter_total()
  return tonumber(os.getenv("WRK_THREADS") or "1")
end

function request()
  i = i + 1
  local sig = sigs[i]
  if sig == nil then
    exhausted = exhausted + 1
    sig = "exhausted"
  end
  return wrk.format("GET", target, { ["Authorization"] = auth, ["X-Request-Signature"] = sig })
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local bad, used = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    used = used + t:get("i")
  end
  io.write(string.format("signatures used: %d, non-200 answers: %d\n", used, bad))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%s latency: %.3f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
end
