-- SPDX-License-Identifier: Apache-2.0
-- wrk script: check-ins from devices chosen at random among DEVICES
-- registered ones (device i: id "dev-<i>", token "tok-<i>"), each reporting
-- that it runs DIGEST (the campaign's target: "nothing to do").
local devices = tonumber(os.getenv("DEVICES") or "1000")
local digest = os.getenv("DIGEST") or string.rep("0", 64)
-- manifest_format 2 (MANIFEST_FORMAT), as ota-agent says: the "nothing to
-- do" answer then carries the signed no-offer statement (docs/manifest.md)
local format = os.getenv("MANIFEST_FORMAT") or "2"
local body = '{"hw_id":"bench-hw","current_version":"1.0.0","current_digest":"' .. digest ..
  '","manifest_format":' .. format .. '}'

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end

-- DDI=1: hawkBit DDI polls instead (bench/server/ddi_poll.sh, docs/ddi.md)
local ddi = os.getenv("DDI") == "1"

function request()
  local i = math.random(0, devices - 1)
  if ddi then
    return wrk.format("GET", "/DEFAULT/controller/v1/dev-" .. i,
      {["Authorization"] = "TargetToken tok-" .. i})
  end
  return wrk.format("POST", "/v1/devices/dev-" .. i .. "/checkin",
    {["Authorization"] = "Bearer tok-" .. i, ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local s = summary
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d rps=%.1f p50_us=%d p99_us=%d\n",
    s.requests, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    s.errors.status, s.requests / (s.duration / 1e6), latency:percentile(50),
    latency:percentile(99)))
end
