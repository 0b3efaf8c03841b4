# SPDX-License-Identifier: Apache-2.0
"""
test_endless_data.py - threat "endless data": the attacker answers the
download with more bytes than the signed manifest's payload_size -- the
genuine payload followed by a 1 MiB trailer it announces in Content-Length,
or followed by an endless stream -- to fill the device's storage or keep it
busy forever. The update engine never takes more than payload_size bytes:
the download is refused as soon as it goes past that size, the slot holds
nothing beyond it, the device reports the failure and stays on its image.
"""

import pytest

import attacker as A

SLOT_B = 0x80000  # generic-4k geometry (ota-sim create)
SLOT_SIZE = 507904


@pytest.mark.parametrize("trailer", ["1MiB", "endless"])
def test_payload_longer_than_the_manifest_says(env, mitm, trailer):
    sc = A.Scenario(env, mitm, "endless-" + trailer)
    good = A.read(sc.v2)
    path = A.artifact_path(good)
    sc.mitm.artifacts[path] = A.Artifact(good, extra=None if trailer == "endless"
                                         else b"\0" * (1 << 20))
    rep = sc.refused(A.PAYLOAD_DOWNLOADING, "OTA_ERR_UPDATE_PAYLOAD_SIZE")
    # nothing past payload_size ever reached the inactive slot
    with open(sc.dev.flash, "rb") as f:
        f.seek(SLOT_B + len(good))
        beyond = f.read(SLOT_SIZE - len(good))
    assert beyond == b"\xff" * len(beyond), "bytes written past the signed payload size"
    print("\n%s trailer: %d bytes pushed into the socket by the attacker for a %d-byte "
          "payload; refused: %s" % (trailer, sc.mitm.bytes_sent.get(path, 0), len(good),
                                    rep["detail"]))
