-- wrk script: pre-signed requests (each jti once, as ../shared/bench/signed.lua) sent at a
-- paced total rate instead of as fast as the server answers (BENCHMARKS.md, "p99 at half load").
--   wrk -t1 -cC -dD --latency -s bench/paced.lua URL -- SIGFILE TOKEN RATE C
-- Each of the C connections waits an exponentially distributed gap with mean C/RATE seconds
-- before each request, so the arrivals together are close to a Poisson stream of RATE req/s
-- (burstier than a fixed gap, as real clients are). wrk starts a request's clock when it is
-- written, so the latency is the server's answer time, not the gap. One wrk thread only.

local sigs, pos, headers, mean_gap_ms = {}, 1, nil, nil
non2xx, exhausted = 0, 0

function init(args)
   local sigfile, token = args[1], args[2]
   local rate, conns = tonumber(args[3]), tonumber(args[4])
   assert(sigfile and token and rate and rate > 0 and conns and conns > 0,
          "usage: -- SIGFILE TOKEN RATE CONNECTIONS")
   for line in io.lines(sigfile) do
      if #line > 0 then sigs[#sigs + 1] = line end
   end
   headers = { ["Authorization"] = "Bearer " .. token }
   math.randomseed(os.time())
   mean_gap_ms = 1000 * conns / rate
end

function delay()
   return -math.log(1 - math.random()) * mean_gap_ms
end

function request()
   local sig = sigs[pos]
   if sig == nil then
      if exhausted == 0 then exhausted = 1; wrk.thread:stop() end
      sig = "exhausted"
   end
   pos = pos + 1
   headers["X-Request-Signature"] = sig
   return wrk.format("GET", nil, headers)
end

function response(status, hdrs, body)
   if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
   io.write(string.format("non2xx: %d\nexhausted: %d\n", non2xx, exhausted))
   for _, p in ipairs({ 50, 90, 99, 99.9 }) do
      io.write(string.format("paced p%s: %.3f ms\n", p, latency:percentile(p) / 1000))
   end
end
