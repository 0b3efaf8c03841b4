#!/usr/bin/python3
"""Bulk-register N devices straight into an ota-server SQLite database (for
the check-in benchmark; the server must be stopped). Device i is "dev-<i>"
with token "tok-<i>" (stored, like the server does, as SHA-256 of the token)
and hardware id "bench-hw"."""
import hashlib
import sqlite3
import sys
import time


def main():
    db_path, n = sys.argv[1], int(sys.argv[2])
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time())
    batch = 50000
    with db:
        for start in range(0, n, batch):
            rows = [(f"dev-{i}", hashlib.sha256(f"tok-{i}".encode()).digest(), "bench-hw", "",
                     now) for i in range(start, min(n, start + batch))]
            db.executemany("INSERT INTO devices(id, token_hash, hw_id, tags, created_at) "
                           "VALUES(?, ?, ?, ?, ?)", rows)
    count = db.execute("SELECT count(*) FROM devices").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"devices registered: {count}")


if __name__ == "__main__":
    main()
