#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Give a fleet bulk-registered by bench/server/seed_devices.py the variety
a console shows (the server must be stopped): hardware ids, tags, versions,
last-seen times (a share silent, a share never seen), last results; and,
for campaign CAMPAIGN_ID (created through the API before), progress rows
and final reports for a share of the devices spread over its four
hours (the campaign is moved back so), so its page has a failure-ratio history to draw.

Usage: seed_fleet.py DB CAMPAIGN_ID [FINISHED_SHARE]"""
import random
import sqlite3
import sys
import time


def main():
    db_path, cid = sys.argv[1], int(sys.argv[2])
    share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    rnd = random.Random(7)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    now = int(time.time())
    ids = [r[0] for r in db.execute("SELECT id FROM devices ORDER BY id")]
    created = now - 4 * 3600  # the campaign is moved 4 hours back
    hws = ["bench-hw"] * 6 + ["gw-2"] * 3 + ["sensor-x"]
    tag_sets = ["", ",eu,", ",us,", ",eu,beta,", ",apac,", ",eu,factory-7,", ",us,beta,"]
    versions = ["1.0.0"] * 6 + ["0.9.2"] * 3 + ["0.9.1"]
    dev_rows, dc_rows, rep_rows = [], [], []
    for i, d in enumerate(ids):
        r = rnd.random()
        seen = 0 if r < 0.03 else now - rnd.randint(3600, 86400 * 3) if r < 0.13 else \
            now - rnd.randint(0, 600)
        result = ""
        if rnd.random() < share:
            st = 4 if rnd.random() < 0.93 else rnd.choice([5, 6])
            t = created + int(rnd.random() ** 0.7 * 4 * 3600)
            dc_rows.append((cid, d, st, 0 if rnd.random() < 0.1 else 1, t))
            rep_rows.append((d, cid, st, 0 if st == 4 else 156, "" if st == 4 else "boom", t))
            result = {4: "success code=0 ", 5: "failure code=156 boom", 6: "rolled-back code=0 "}[st]
        dev_rows.append((rnd.choice(hws), rnd.choice(tag_sets), rnd.choice(versions), seen,
                         result, d))
    with db:
        db.executemany("UPDATE devices SET hw_id = ?, tags = ?, current_version = ?, "
                       "last_seen = ?, last_result = ? WHERE id = ?", dev_rows)
        db.executemany("INSERT INTO device_campaigns(campaign_id, device_id, state, stage, "
                       "updated_at) VALUES(?, ?, ?, ?, ?)", dc_rows)
        db.executemany("INSERT INTO reports(device_id, campaign_id, state, code, detail, "
                       "created_at) VALUES(?, ?, ?, ?, ?, ?)", rep_rows)
        db.execute("UPDATE campaigns SET stage = 1, created_at = ?, stage_started_at = ? "
                   "WHERE id = ?", (created, now - 2 * 3600, cid))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"devices varied: {len(ids)}, campaign {cid} rows: {len(dc_rows)}")


if __name__ == "__main__":
    main()
