#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
faultproxy.py - a loopback TCP proxy that breaks connections on purpose.

Why it exists: the end-to-end tests must show that a device downloading
through a bad network (cut connections, flipped bytes, resets, stalls) never
installs a corrupted or unverified image and still ends on the new version.
This proxy sits between ota-agent and ota-server and injects those faults
into the server -> client direction, either by a fixed schedule (one action
per accepted connection) or at random from a seed, and counts what it did.

Faults (applied to the server's answer, after `after` bytes have passed):
  pass      forward everything untouched
  truncate  close the connection cleanly (FIN) after `after` bytes
  corrupt   flip one bit of the byte at offset `after`, keep forwarding
  reset     abort with a TCP RST (SO_LINGER 0) after `after` bytes
  stall     stop forwarding after `after` bytes and hold the connection open
            for `stall_s` seconds (the client's timeout must fire), then close
Optionally every connection is throttled to `bytes_per_s` (slow links; lets a
test kill a device in the middle of a download), from its first byte or only
after `throttle_after` bytes (small API answers fast, big downloads crawl: a
slow-retrieval attack).

Use as a library (tests):
    p = FaultProxy(("127.0.0.1", server_port), seed=7, rate=0.4)
    p.start(); ... p.port ... ; p.stop(); print(p.stats())
or from the command line:
    faultproxy.py --target 127.0.0.1:8080 --seed 7 --rate 0.4 [--listen-port 0]
                  [--schedule pass,truncate:100,corrupt:5000,...] [--stats-file F]
which prints "listening on 127.0.0.1:PORT" and writes the counts as JSON to
--stats-file (and stdout) on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import json
import random
import signal
import socket
import struct
import sys
import threading

KINDS = ("pass", "truncate", "corrupt", "reset", "stall")


class Action:
    """One fault decision for one connection."""

    def __init__(self, kind, after=0, stall_s=2.0, bit=0):
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (kind, ", ".join(KINDS)))
        if after < 0:
            raise ValueError("fault offset must be >= 0, got %d" % after)
        self.kind = kind
        self.after = after
        self.stall_s = stall_s
        self.bit = bit & 7  # which bit a corrupt fault flips

    def __repr__(self):
        return "%s:%d" % (self.kind, self.after)


def parse_schedule(text, stall_s=2.0):
    """'pass,truncate:100,corrupt:5000' -> [Action, ...]."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        kind, _, off = item.partition(":")
        out.append(Action(kind, int(off) if off else 0, stall_s))
    return out


class FaultProxy:
    """The proxy. Thread-safe start/stop; counts are read with stats()."""

    def __init__(self, target, seed=0, rate=0.0, schedule=None, kinds=None,
                 max_offset=65536, stall_s=2.0, listen_host="127.0.0.1",
                 listen_port=0, bytes_per_s=0, near_start=0.0, throttle_after=0):
        self.target = target
        self.rng = random.Random(seed)
        self.seed = seed
        self.rate = float(rate)
        self.schedule = list(schedule or [])
        self.kinds = list(kinds or ("truncate", "corrupt", "reset", "stall"))
        for k in self.kinds:
            if k not in KINDS or k == "pass":
                raise ValueError("random fault kinds must be among %s" % (KINDS[1:],))
        self.max_offset = max_offset
        self.stall_s = stall_s
        self.bytes_per_s = bytes_per_s  # throttle server -> client (0: off)
        self.throttle_after = throttle_after  # bytes of each answer sent at full speed
        # share of random faults placed in the first 2 KiB of a connection
        # (HTTP headers, check-in answers, manifests) instead of anywhere
        self.near_start = float(near_start)
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.port = None
        self._lock = threading.Lock()
        self._counts = {k: 0 for k in KINDS}
        self._applied = {k: 0 for k in KINDS}  # faults that actually fired
        self._connections = 0
        self._bytes_up = 0
        self._bytes_down = 0
        self._upstream_failures = 0
        self._enabled = True
        self._loop = None
        self._server = None
        self._thread = None
        self._ready = threading.Event()
        self._error = None

    # ---- decisions -------------------------------------------------------
    def _next_action(self):
        with self._lock:
            n = self._connections
            self._connections += 1
            if not self._enabled:
                a = Action("pass")
            elif n < len(self.schedule):
                a = self.schedule[n]
            elif self.schedule and self.rate == 0.0:
                a = Action("pass")
            elif self.rng.random() < self.rate:
                kind = self.rng.choice(self.kinds)
                span = 2048 if self.rng.random() < self.near_start else self.max_offset
                a = Action(kind, self.rng.randrange(0, max(1, min(span, self.max_offset))),
                           self.stall_s, self.rng.randrange(8))
            else:
                a = Action("pass")
            self._counts[a.kind] += 1
            return a

    def set_enabled(self, enabled):
        """Turn fault injection on/off (off: every new connection passes)."""
        with self._lock:
            self._enabled = bool(enabled)

    def stats(self):
        with self._lock:
            faults = {k: self._applied[k] for k in KINDS if k != "pass"}
            return {
                "connections": self._connections,
                "planned": dict(self._counts),
                "faults_injected": faults,
                "faults_total": sum(faults.values()),
                "bytes_up": self._bytes_up,
                "bytes_down": self._bytes_down,
                "upstream_failures": self._upstream_failures,
                "seed": self.seed,
                "rate": self.rate,
            }

    def _fired(self, kind):
        with self._lock:
            self._applied[kind] += 1

    # ---- data path -------------------------------------------------------
    async def _pump_up(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                with self._lock:
                    self._bytes_up += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.write_eof()
            except (OSError, RuntimeError, AttributeError):
                pass

    async def _pump_down(self, reader, writer, action):
        """server -> client with the fault applied. Returns how it ended."""
        passed = 0
        fired = False
        while True:
            slow = self.bytes_per_s and passed >= self.throttle_after
            # slow links trickle: chunks of about a quarter second
            data = await reader.read(max(16, min(4096, self.bytes_per_s // 4)) if slow
                                     else 4096 if self.bytes_per_s else 65536)
            if data and slow:
                await asyncio.sleep(len(data) / self.bytes_per_s)
            if not data:
                return "eof"
            if not fired and action.kind != "pass" and passed + len(data) > action.after:
                cut = action.after - passed
                if action.kind == "corrupt":
                    b = bytearray(data)
                    b[cut] ^= 1 << action.bit
                    data = bytes(b)
                    fired = True
                    self._fired("corrupt")
                else:
                    head = data[:cut]
                    if head:
                        writer.write(head)
                        await writer.drain()
                    with self._lock:
                        self._bytes_down += len(head)
                    self._fired(action.kind)
                    return action.kind
            passed += len(data)
            with self._lock:
                self._bytes_down += len(data)
            writer.write(data)
            await writer.drain()

    async def _handle(self, c_reader, c_writer):
        action = self._next_action()
        try:
            s_reader, s_writer = await asyncio.open_connection(*self.target)
        except OSError:
            with self._lock:
                self._upstream_failures += 1
            c_writer.close()
            return
        up = asyncio.ensure_future(self._pump_up(c_reader, s_writer))
        how = "eof"
        try:
            how = await self._pump_down(s_reader, c_writer, action)
        except (ConnectionError, OSError):
            how = "error"
        try:
            if how == "stall":
                # Hold both sides open, forwarding nothing, until the client
                # gives up or the stall time ends.
                try:
                    await asyncio.wait_for(asyncio.shield(up), timeout=action.stall_s)
                except (asyncio.TimeoutError, ConnectionError, OSError):
                    pass
            if how == "reset":
                sock = c_writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                c_writer.transport.abort()
            else:
                c_writer.close()
        finally:
            up.cancel()
            s_writer.close()

    # ---- lifecycle -------------------------------------------------------
    def _run(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(asyncio.start_server(
                self._handle, self.listen_host, self.listen_port, reuse_address=True))
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        self._server.close()
        loop.run_until_complete(self._server.wait_closed())
        pending = asyncio.all_tasks(loop)
        for t in pending:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def start(self):
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error
        return self

    def stop(self):
        """Stop serving (idempotent); stats() stays readable."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", required=True, help="HOST:PORT of the real server")
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="probability that a connection gets a random fault")
    ap.add_argument("--kinds", default="truncate,corrupt,reset,stall")
    ap.add_argument("--max-offset", type=int, default=65536)
    ap.add_argument("--stall", type=float, default=2.0, help="stall seconds")
    ap.add_argument("--schedule", default="", help="kind[:offset],... per connection")
    ap.add_argument("--bytes-per-s", type=int, default=0, help="throttle downloads")
    ap.add_argument("--stats-file")
    a = ap.parse_args(argv)
    host, _, port = a.target.rpartition(":")
    p = FaultProxy((host or "127.0.0.1", int(port)), seed=a.seed, rate=a.rate,
                   schedule=parse_schedule(a.schedule, a.stall),
                   kinds=[k for k in a.kinds.split(",") if k],
                   max_offset=a.max_offset, stall_s=a.stall, listen_port=a.listen_port,
                   bytes_per_s=a.bytes_per_s)
    p.start()
    print("listening on 127.0.0.1:%d" % p.port, flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    done.wait()
    p.stop()
    st = json.dumps(p.stats(), sort_keys=True)
    if a.stats_file:
        with open(a.stats_file, "w") as f:
            f.write(st + "\n")
    print(st, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
