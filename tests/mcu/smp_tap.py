# SPDX-License-Identifier: Apache-2.0
"""
smp_tap.py - a tap on the SMP serial link between the gateway (ota-agent,
backend = smp) and the QEMU board: a unix-socket proxy that forwards every
byte both ways and decodes every frame on the side with the independent
client written from Zephyr's documents (tests/smp/smp_spec_client.py:
base64, CRC-16/XMODEM, python3-cbor2; no code shared with ota's C side).

Why it exists: the end-to-end tests must show what went over the wire --
the offer, every payload request's offset, the resume after a lost board,
the reset and the confirm -- checked by a decoder that is not the one under
test. Every packet is checked (frame length <= 127, CRC, header length,
reserved bits, CBOR map, an answer matching a request's group, command,
sequence and OP + 1); violations are collected in `errors`. `drop` makes the
tap lose chosen requests (the tests' lost reset).
"""
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "smp"))

import smp_spec_client as spec  # noqa: E402


class Packet:
    """One decoded SMP packet on the wire."""

    def __init__(self, direction, conn, raw, wire=0):
        a = spec.Answer(raw)  # header + CBOR decoding from the spec client
        self.wire = wire      # bytes of its frames on the line (markers, base64, newlines)
        self.dir = direction  # "req" (gateway -> board) or "rsp"
        self.conn = conn      # which connection of the tap carried it
        self.op, self.group, self.cmd, self.seq = a.op, a.group, a.cmd, a.seq
        self.ver, self.body = a.ver, a.body
        self.dropped = False
        self.error = a.error()
        self.t = time.monotonic()

    def __repr__(self):
        body = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v)
                for k, v in self.body.items()}
        return f"{self.dir}#{self.conn} op{self.op} g{self.group} c{self.cmd} s{self.seq} {body}"


class Tap:
    def __init__(self, path, upstream):
        self.path, self.upstream = path, upstream
        self.packets, self.errors = [], []
        self.wire_bytes = {"req": 0, "rsp": 0}
        self.conns = 0
        self.lock = threading.Lock()
        if os.path.exists(path):
            os.unlink(path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.stopping = False
        self.socks = []
        # (group, command) of requests not passed on to the board (a lost
        # request); while set, requests are forwarded a whole packet at a time
        self.drop = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def spec_path(self):
        return "unix:" + self.path

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                up.connect(self.upstream)
            except OSError:  # the board is not there (QEMU down): refuse
                up.close()
                c.close()
                continue
            with self.lock:
                self.conns += 1
                n = self.conns
                self.socks += [c, up]
            threading.Thread(target=self._pump, args=(c, up, "req", n), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, c, "rsp", n), daemon=True).start()

    def _pump(self, src, dst, direction, conn):
        lines, pending, wire = [], b"", 0
        while True:
            try:
                data = src.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            try:
                if direction == "rsp" or not self.drop:
                    dst.sendall(data)
            except OSError:
                break
            with self.lock:
                self.wire_bytes[direction] += len(data)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.startswith((b"\x06\x09", b"\x04\x14")):
                    continue  # console text or a frame cut by a reset
                if len(line) + 1 > spec.FRAME_MAX:
                    self._error(f"{direction}: a line of {len(line) + 1} bytes (> 127)")
                if line.startswith(b"\x06\x09"):
                    lines, wire = [], 0
                lines.append(line)
                wire += len(line) + 1
                try:
                    pkts = spec.parse_frames(lines)
                except Exception as e:  # noqa: BLE001 - every violation is recorded
                    self._error(f"{direction}: undecodable frames: {e!r}")
                    lines = []
                    continue
                for raw in pkts:
                    frames, lines = lines, []
                    try:
                        p = Packet(direction, conn, raw, wire)
                        self._add(p)
                    except Exception as e:  # noqa: BLE001
                        self._error(f"{direction}: bad packet {raw[:16].hex()}: {e!r}")
                        continue
                    if direction == "req" and self.drop:
                        # dropping: requests go on a whole packet at a time
                        if (p.group, p.cmd) in self.drop:
                            p.dropped = True
                            continue
                        try:
                            dst.sendall(b"".join(f + b"\n" for f in frames))
                        except OSError:
                            break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _error(self, text):
        with self.lock:
            self.errors.append(text)

    def _add(self, p):
        with self.lock:
            if p.dir == "rsp":
                req = next((q for q in reversed(self.packets) if q.dir == "req" and
                            q.conn == p.conn and q.seq == p.seq), None)
                if req is None:
                    self.errors.append(f"answer to no request: {p!r}")
                elif (req.group, req.cmd, req.op + 1) != (p.group, p.cmd, p.op):
                    self.errors.append(f"answer {p!r} does not match request {req!r}")
            elif p.op not in (spec.OP_READ, spec.OP_WRITE):
                self.errors.append(f"request with OP {p.op}: {p!r}")
            self.packets.append(p)

    def snapshot(self):
        with self.lock:
            return list(self.packets)

    def find(self, group, cmd, direction="req", op=None):
        return [p for p in self.snapshot() if p.group == group and p.cmd == cmd and
                p.dir == direction and (op is None or p.op == op)]

    def close(self):
        self.stopping = True
        self.srv.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass
        if os.path.exists(self.path):
            os.unlink(self.path)
