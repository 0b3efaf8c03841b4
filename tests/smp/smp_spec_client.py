# SPDX-License-Identifier: Apache-2.0
"""
smp_spec_client.py - an SMP client written from Zephyr's documents alone
(smp_protocol.rst, smp_transport.rst, smp_group_0.rst, smp_group_1.rst),
sharing no code with ota's C side: Python's base64, binascii.crc_hqx
(CRC-16/XMODEM: polynomial 0x1021, initial value 0) and Debian's
python3-cbor2. The tests use it to check the device's server
independently of `ota smp`, and to send frames a correct client never would.
"""
import base64
import hashlib
import binascii
import socket
import struct
import time

import cbor2

FRAME_MAX = 127          # marker + base64 + newline
B64_MAX = FRAME_MAX - 3  # base64 characters per frame

OP_READ, OP_READ_RSP, OP_WRITE, OP_WRITE_RSP = 0, 1, 2, 3


def header(op, group, cmd, seq, length, ver=1, flags=0):
    """The 8-byte SMP header: Res(3) Ver(2) OP(3), Flags, Length, Group, Seq, Cmd."""
    return struct.pack(">BBHHBB", ((ver & 3) << 3) | (op & 7), flags, length, group, seq, cmd)


def crc16(data):
    return binascii.crc_hqx(data, 0)


def frames(packet, total_length=None, crc=None):
    """The serial frames of one SMP packet. total_length / crc override the
    correct values (to send damaged frames)."""
    c = crc16(packet) if crc is None else crc
    body = packet + struct.pack(">H", c)
    length = len(body) if total_length is None else total_length
    raw = struct.pack(">H", length) + body
    per = B64_MAX // 4 * 3
    out = []
    for i in range(0, len(raw), per):
        marker = b"\x06\x09" if i == 0 else b"\x04\x14"
        out.append(marker + base64.b64encode(raw[i:i + per]) + b"\n")
    for f in out:
        assert len(f) <= FRAME_MAX
    return out


def parse_frames(lines):
    """Reassemble frames (list of bytes lines without newline) into packets."""
    packets, buf, total = [], None, None
    for line in lines:
        if line.startswith(b"\x06\x09"):
            raw = base64.b64decode(line[2:], validate=True)
            total, buf = struct.unpack(">H", raw[:2])[0], raw[2:]
        elif line.startswith(b"\x04\x14") and buf is not None:
            buf += base64.b64decode(line[2:], validate=True)
        else:
            continue
        if buf is not None and len(buf) >= total:
            assert len(buf) == total, "more bytes than the length field"
            assert crc16(buf) == 0, "bad CRC in the device's answer"
            packets.append(buf[:-2])
            buf = None
    return packets


class Answer:
    def __init__(self, packet):
        b0, self.flags, self.length, self.group, self.seq, self.cmd = \
            struct.unpack(">BBHHBB", packet[:8])
        self.ver = (b0 >> 3) & 3
        self.op = b0 & 7
        assert b0 >> 5 == 0, "reserved bits set in an answer"
        assert self.length == len(packet) - 8, "answer's length field is wrong"
        self.body = cbor2.loads(packet[8:]) if self.length else {}
        assert isinstance(self.body, dict), self.body

    def error(self):
        """(kind, rc): ("rc", mcumgr_err_t) / ("group", (group, rc)) / None."""
        if "err" in self.body:
            e = self.body["err"]
            return ("group", (e["group"], e["rc"]))
        if self.body.get("rc", 0):
            return ("rc", self.body["rc"])
        return None


class Client:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(timeout)
        self.timeout = timeout
        self.seq = 0
        self.pending = b""
        self.wire = []  # every line the device sent

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def read_answer(self, seq=None):
        deadline = time.monotonic() + self.timeout
        lines = []
        while time.monotonic() < deadline:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                self.wire.append(line)
                lines.append(line)
                for p in parse_frames(lines):
                    a = Answer(p)
                    if seq is None or a.seq == seq:
                        return a
                    lines = []
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("device closed the connection")
            self.pending += chunk
        raise TimeoutError("no answer")

    def request(self, op, group, cmd, body, ver=1, raw_cbor=None):
        payload = cbor2.dumps(body) if raw_cbor is None else raw_cbor
        self.seq = (self.seq + 1) & 0xff
        pkt = header(op, group, cmd, self.seq, len(payload), ver) + payload
        for f in frames(pkt):
            self.send_raw(f)
        a = self.read_answer(self.seq)
        assert a.op == op + 1 and a.group == group and a.cmd == cmd, vars(a)
        assert a.ver == ver, "answer in another SMP version than asked"
        return a

    # ---- the documented commands ----
    def echo(self, text, ver=1):
        return self.request(OP_WRITE, 0, 0, {"d": text}, ver)

    def state(self, ver=1):
        return self.request(OP_READ, 1, 0, {}, ver)

    def set_state(self, hash_=None, confirm=False, ver=1):
        body = {"confirm": confirm}
        if hash_ is not None:
            body["hash"] = hash_
        return self.request(OP_WRITE, 1, 0, body, ver)

    def upload_chunk(self, off, data, image=None, ver=1):
        body = {"off": off, "data": data}
        if off == 0 and image is not None:
            body.update({"image": 0, "len": len(image), "sha": hashlib.sha256(image).digest()})
        return self.request(OP_WRITE, 1, 1, body, ver)

    def upload(self, image, chunk=512, stop_after=None, ver=1):
        """Upload image; stop (returning the device's offset) once stop_after
        bytes are acknowledged. Returns the last answer."""
        off = 0
        while True:
            a = self.upload_chunk(off, image[off:off + chunk], image, ver)
            if a.error():
                return a
            off = a.body["off"]
            if off >= len(image) or (stop_after is not None and off >= stop_after):
                return a

    def reset(self, ver=1):
        return self.request(OP_WRITE, 0, 5, {}, ver)
