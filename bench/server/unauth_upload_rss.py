#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/server/unauth_upload_rss.py - the server's RSS before and after 16
token-less release uploads (64 MiB declared, 8 MiB sent each): a server that
authenticates from the headers holds none of those bodies in RAM.
Usage: unauth_upload_rss.py PATH/TO/ota-server"""
import os, re, socket, subprocess, sys, tempfile, time
binary = sys.argv[1]
d = tempfile.mkdtemp()
p = subprocess.Popen([binary, "--data", d, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
port = None
while port is None:
    line = p.stdout.readline().decode()
    m = re.search(r"listening on https?://[^ ]*:(\d+)", line)
    if m: port = int(m.group(1))
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1])
base = rss()
socks = []
for _ in range(16):
    c = socket.create_connection(("127.0.0.1", port), timeout=3)
    c.sendall(b"POST /v1/releases HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % (64 << 20))
    socks.append(c)
chunk = b"\0" * (1 << 20)
for c in socks:
    try:
        for _ in range(8): c.sendall(chunk)
    except OSError: pass
time.sleep(1)
print(f"{binary}: RSS {base} KiB -> {rss()} KiB after 16 token-less uploads of 8 MiB each")
p.terminate(); p.wait()
