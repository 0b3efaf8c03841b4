# SPDX-License-Identifier: Apache-2.0
"""
test_faultproxy.py - the fault-injection proxy does exactly what it says.

Why it exists: the end-to-end fault runs are only meaningful if the proxy
really truncates, corrupts, resets and stalls (and counts it). Each fault is
checked against a tiny upstream server that sends a known byte pattern.
"""

import os
import socket
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import Action, FaultProxy, parse_schedule  # noqa: E402

PAYLOAD = bytes((i * 7 + 3) & 0xFF for i in range(200000))


class Upstream:
    """Accepts connections, reads one request line, sends PAYLOAD, closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            line = b""
            while not line.endswith(b"\n"):
                d = c.recv(1)
                if not d:
                    break
                line += d
            self.requests.append(line)
            c.sendall(PAYLOAD)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


def fetch(port, timeout=5.0):
    """Returns (bytes received, how it ended: 'eof' | 'reset' | 'timeout')."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    s.sendall(b"GET /x\n")
    got = bytearray()
    how = "eof"
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    finally:
        s.close()
    return bytes(got), how


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


def test_schedule_each_fault(upstream):
    sched = parse_schedule("pass,truncate:1000,corrupt:5000,reset:3000,stall:700", stall_s=3.0)
    with FaultProxy(("127.0.0.1", upstream.port), schedule=sched, seed=1) as p:
        got, how = fetch(p.port)
        assert got == PAYLOAD and how == "eof"

        got, how = fetch(p.port)
        assert got == PAYLOAD[:1000] and how == "eof"

        got, how = fetch(p.port)
        assert len(got) == len(PAYLOAD) and how == "eof"
        diff = [i for i in range(len(got)) if got[i] != PAYLOAD[i]]
        assert diff == [5000]
        assert bin(got[5000] ^ PAYLOAD[5000]).count("1") == 1

        got, how = fetch(p.port)
        assert how == "reset"
        assert got == PAYLOAD[:len(got)] and len(got) <= 3000

        got, how = fetch(p.port, timeout=1.0)
        assert how == "timeout" and got == PAYLOAD[:700]

        # Past the schedule with rate 0: everything passes.
        got, how = fetch(p.port)
        assert got == PAYLOAD and how == "eof"
        st = p.stats()
    assert st["connections"] == 6
    assert st["faults_injected"] == {"truncate": 1, "corrupt": 1, "reset": 1, "stall": 1}
    assert st["faults_total"] == 4
    assert len(upstream.requests) == 6  # the request side is never altered
    assert all(r == b"GET /x\n" for r in upstream.requests)


def test_random_is_seeded_and_counted(upstream):
    def run(seed):
        outcomes = []
        with FaultProxy(("127.0.0.1", upstream.port), seed=seed, rate=0.5,
                        kinds=["truncate", "corrupt", "reset"],
                        max_offset=len(PAYLOAD)) as p:
            for _ in range(40):
                got, how = fetch(p.port)
                # A reset discards what the kernel had buffered: its length
                # is not deterministic, the outcome is.
                outcomes.append((len(got) if how != "reset" else -1, got == PAYLOAD, how))
            return outcomes, p.stats()

    a, sa = run(11)
    b, sb = run(11)
    c, _ = run(12)
    assert a == b, "same seed must give the same faults"
    assert a != c
    assert sa["connections"] == 40
    # Every planned fault fired (offsets are inside the payload) and every
    # faulted fetch differs from the payload; every clean one is intact.
    assert sa["faults_total"] == 40 - sa["planned"]["pass"]
    assert 5 < sa["faults_total"] < 35
    bad = sum(1 for n, ok, how in a if not ok)
    assert bad == sa["faults_total"]


def test_disable_and_unreachable_upstream(upstream):
    with FaultProxy(("127.0.0.1", upstream.port), rate=1.0, seed=3,
                    kinds=["truncate"], max_offset=10) as p:
        got, _ = fetch(p.port)
        assert len(got) < 10
        p.set_enabled(False)
        got, _ = fetch(p.port)
        assert got == PAYLOAD
    # An upstream that is gone: the client sees a closed connection, counted.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with FaultProxy(("127.0.0.1", dead)) as p:
        got, how = fetch(p.port)
        assert got == b""
        assert p.stats()["upstream_failures"] == 1


def test_bad_schedule_rejected():
    with pytest.raises(ValueError):
        parse_schedule("explode:3")
    with pytest.raises(ValueError):
        Action("truncate", -1)


def test_throttle(upstream):
    import time
    with FaultProxy(("127.0.0.1", upstream.port), bytes_per_s=400000) as p:
        t = time.time()
        got, how = fetch(p.port, timeout=10)
        took = time.time() - t
    assert got == PAYLOAD and how == "eof"
    assert took >= 0.4  # 200 kB at 400 kB/s: about half a second
