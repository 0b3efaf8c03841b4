#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
relay.py - joins stdin/stdout to a TCP connection to 127.0.0.1:PORT.

Why it exists: QEMU user networking's `guestfwd=tcp:GUEST_IP:PORT-cmd:CMD`
runs CMD once per guest connection with the connection as stdin/stdout; this
is that CMD. (The other guestfwd form, a `tcp:` chardev, is one connection
opened when QEMU starts and shared by every guest connection, which HTTP
cannot use.) It only ever connects to the loopback address.

Usage: relay.py PORT [RATE]   (RATE: bytes/s towards the guest, a slow link)
"""

import os
import select
import socket
import sys
import time


def main():
    port = int(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    start, sent = time.monotonic(), 0
    s = socket.create_connection(("127.0.0.1", port))
    fds = {0: s.fileno(), s.fileno(): 1}
    open_in, open_sock = True, True
    while open_in or open_sock:
        watch = ([0] if open_in else []) + ([s.fileno()] if open_sock else [])
        r, _, _ = select.select(watch, [], [])
        for fd in r:
            data = os.read(fd, 16384 if rate else 65536)
            if not data:
                if fd == 0:
                    open_in = False
                    s.shutdown(socket.SHUT_WR)
                else:
                    open_sock = False
                    os.close(1)
                continue
            out = fds[fd]
            if rate and out == 1:
                sent += len(data)
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            while data:
                n = os.write(out, data)
                data = data[n:]
    s.close()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, ConnectionError, OSError):
        sys.exit(1)
