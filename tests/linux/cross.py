# SPDX-License-Identifier: Apache-2.0
"""
cross.py - the real ota-agent built for arm64 Linux (Debian's
gcc-aarch64-linux-gnu, the arm64 -dev packages through dpkg multiarch,
tests/linux/aarch64-linux-gnu.cmake), for the arm64 U-Boot test VM.

Why it exists: the arm64 guest must run the project's own agent, compiled
from this source tree, not a host binary; this is the one place that
configures and builds it. The build directory sits in the build tree
(OTA_BUILD_DIR/tests/linux/arm64) and is rebuilt incrementally, under a
lock (parallel tests share it). Only the directories the agent needs are
configured (OTA_COMPONENTS) and only the ota-agent target is built.
"""

import os
import subprocess

import mkdisk

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOLCHAIN = os.path.join(HERE, "aarch64-linux-gnu.cmake")
# only what ota-agent links (ota_core, ota_host, ota_sim, ota_delta): the
# server's and tools' dependencies need no arm64 packages
COMPONENTS = ["src/core", "src/delta", "src/sim", "src/agent"]


def arm64_agent(build_dir=None):
    """Path of the arm64 ota-agent, configured and built if needed."""
    top = os.path.abspath(build_dir or os.environ.get("OTA_BUILD_DIR", "build"))
    out = os.path.join(top, "tests", "linux", "arm64")
    with mkdisk._Lock(os.path.join(top, "tests", "linux")):
        # configured every time (about a second): the settings below win over
        # whatever an older cache holds
        mkdisk.run(["cmake", "-S", ROOT, "-B", out, "-DCMAKE_TOOLCHAIN_FILE=" + TOOLCHAIN,
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DOTA_WERROR=ON",
                    "-DOTA_COMPONENTS=" + ";".join(COMPONENTS)])
        p = subprocess.run(["cmake", "--build", out, "-j2", "--target", "ota-agent"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise RuntimeError("arm64 build of ota-agent failed (scripts/setup.sh installs "
                               "gcc-aarch64-linux-gnu and the arm64 -dev packages):\n"
                               + p.stdout[-4000:])
    agent = os.path.join(out, "src", "agent", "ota-agent")
    head = mkdisk.run(["readelf", "-h", agent])
    if "AArch64" not in head:
        raise RuntimeError("%s is not an arm64 binary:\n%s" % (agent, head))
    return agent
