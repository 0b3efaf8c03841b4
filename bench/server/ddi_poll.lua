-- SPDX-License-Identifier: Apache-2.0
-- wrk script: hawkBit DDI polls (GET /DEFAULT/controller/v1/dev-<i>) from
-- devices chosen at random among DEVICES registered ones (device i: token
-- "tok-<i>", sent as hawkBit's "TargetToken"), for bench/server/ddi_poll.sh.
local devices = tonumber(os.getenv("DEVICES") or "1000")

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

function request()
  local i = math.random(0, devices - 1)
  return wrk.format("GET", "/DEFAULT/controller/v1/dev-" .. i,
    {["Authorization"] = "TargetToken tok-" .. i})
end

function done(summary, latency, requests)
  local s = summary
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d rps=%.1f p50_us=%d p99_us=%d\n",
    s.requests, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    s.errors.status, s.requests / (s.duration / 1e6), latency:percentile(50),
    latency:percentile(99)))
end
