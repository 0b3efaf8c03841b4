#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/server/auth_overhead.py - what deciding who is calling costs per
operator API request: 2000 keep-alive GET /v1/campaigns each with the
first-start admin token (hash compared in memory), a named viewer token
(one database lookup) and a console session cookie (session and token
lookups). Usage: auth_overhead.py PATH/TO/ota-server"""
import http.client, json, re, shutil, subprocess, sys, tempfile, time
binary = sys.argv[1]
d = tempfile.mkdtemp()
p = subprocess.Popen([binary, "--data", d + "/data", "--listen", "127.0.0.1:0", "--threads", "2"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
port = admin = None
while port is None:
    line = p.stdout.readline().decode()
    m = re.search(r"admin token \(shown once[^:]*: (\S+)", line)
    if m: admin = m.group(1)
    m = re.search(r"listening on https?://[^ ]*:(\d+)", line)
    if m: port = int(m.group(1))
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None, headers=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers=headers or {})
    r = c.getresponse()
    return r, r.read()
_, data = req("POST", "/v1/tokens", {"name": "v", "role": "viewer"},
              {"Authorization": "Bearer " + admin, "Content-Type": "application/json"})
tok = json.loads(data)["token"]
r, _ = req("POST", "/v1/session", {"token": tok}, {"Content-Type": "application/json"})
cookie = r.getheader("Set-Cookie").split(";")[0]
for label, h in [("first-start admin token", {"Authorization": "Bearer " + admin}),
                 ("named viewer token", {"Authorization": "Bearer " + tok}),
                 ("session cookie", {"Cookie": cookie})]:
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        r, _ = req("GET", "/v1/campaigns", headers=h)
        assert r.status == 200, r.status
    dt = time.perf_counter() - t0
    print(f"{label}: {n} requests in {dt:.2f} s = {dt / n * 1e6:.0f} us/request")
p.terminate()
p.wait()
shutil.rmtree(d)
