#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bulk-register N devices straight into an ota-server SQLite database (for
the check-in benchmark; the server must be stopped). Device i is "dev-<i>"
with token "tok-<i>" (stored, like the server does, as SHA-256 of the token)
and hardware id "bench-hw".

With DIGEST given, each device also gets the inventory of a fleet in steady
state: it runs version 1.0.0 with that image digest and was last seen two
minutes ago - so each check-in in the benchmark still writes its inventory
row (last seen older than a minute), the worst case for the server."""
import hashlib
import sqlite3
import sys
import time


def main():
    db_path, n = sys.argv[1], int(sys.argv[2])
    digest = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time())
    batch = 50000
    with db:
        for start in range(0, n, batch):
            rows = [(f"dev-{i}", hashlib.sha256(f"tok-{i}".encode()).digest(), "bench-hw", "",
                     now - 86400, "1.0.0" if digest else "", digest,
                     now - 120 if digest else 0)
                    for i in range(start, min(n, start + batch))]
            db.executemany("INSERT INTO devices(id, token_hash, hw_id, tags, created_at, "
                           "current_version, current_digest, last_seen) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?, ?)", rows)
    count = db.execute("SELECT count(*) FROM devices").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"devices registered: {count}")


if __name__ == "__main__":
    main()
