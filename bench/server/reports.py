#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Durable status reports per second: N concurrent devices each post
reports back to back for S seconds; every answer is a 201 sent only after
the report was committed (fsync) to the database.
usage: reports.py PORT ADMIN_TOKEN CLIENTS SECONDS"""
import http.client
import json
import sys
import threading
import time


def call(conn, path, body, tok):
    conn.request("POST", path, json.dumps(body),
                 {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def main():
    port, admin, clients, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    toks = []
    for i in range(clients):
        st, body = call(c, "/v1/devices", {"id": f"rep-{i}", "hw_id": "bench-hw"}, admin)
        assert st == 201, (st, body)
        toks.append(json.loads(body)["token"])
    counts, lat = [0] * clients, [[] for _ in range(clients)]
    stop = time.time() + secs

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop:
            t0 = time.perf_counter()
            st, body = call(conn, f"/v1/devices/rep-{i}/reports",
                            {"state": "downloading", "code": counts[i], "detail": "bench"}, toks[i])
            lat[i].append(time.perf_counter() - t0)
            assert st == 201, (st, body)
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_lat = sorted(x for l in lat for x in l)
    p99 = all_lat[int(len(all_lat) * 0.99)] * 1000 if all_lat else 0
    print(f"RESULT clients={clients} reports={sum(counts)} rps={sum(counts) / secs:.0f} "
          f"p99_ms={p99:.2f}")


if __name__ == "__main__":
    main()
