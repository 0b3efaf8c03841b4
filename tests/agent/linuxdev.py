# SPDX-License-Identifier: Apache-2.0
"""
linuxdev.py - a Linux A/B device on plain files for the Linux backend's
tests: two slot files, a real GRUB environment block (grub-editenv) or a real
U-Boot environment (libubootenv's fw_printenv/fw_setenv, mkenvimage), a
kernel command line file, and the real `ota-agent` binary run against it.

Why it exists: everything between the agent and the bootloader is real
except the reboot itself. A "boot" here does what dist/linux/grub.cfg and
dist/linux/boot.cmd do to the same variables (pick a slot, count the try,
save), then writes the command line the script would pass (root= and
ota.slot=). The QEMU tests (tests/linux) run the real bootloaders.
"""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import otae2e as E  # noqa: E402

HW = "linux-board"
SLOT_MIB = 12


@pytest.fixture
def work(tmp_path):
    return str(tmp_path)


@pytest.fixture
def keys(work):
    for b in (E.SERVER, E.TOOL, E.AGENT):
        if not os.path.exists(b):
            pytest.fail("missing %s: build first and set OTA_BUILD_DIR" % b, pytrace=False)
    return E.Keys(work)


@pytest.fixture
def servers(work, keys):
    """servers(*extra_args): an ota-server started for the test, stopped after."""
    started = []

    def start(*extra):
        s = E.Server(work, keys.pub, list(extra)).start()
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


def make_rootfs(work, version, size_mib=4, extra=b""):
    """An ext4 image built as distributions do (mke2fs -d), reproducibly."""
    root = os.path.join(work, "root-" + version)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    with open(os.path.join(root, "etc", "os-release"), "w") as f:
        f.write('NAME="ota test"\nVERSION_ID="%s"\n' % version)
    with open(os.path.join(root, "etc", "blob"), "wb") as f:
        # a few hundred KiB that change a little between versions
        base = bytes((i * 37 + (i >> 9)) & 0xff for i in range(300000))
        f.write(base + version.encode() + extra)
    img = os.path.join(work, "rootfs-%s.ext4" % version)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000")
    E.run(["mke2fs", "-q", "-F", "-t", "ext4", "-U", "0d0e0a0d-0b0e-0e0f-0000-000000000001",
           "-E", "hash_seed=0d0e0a0d-0b0e-0e0f-0000-000000000002", "-d", root, img,
           "%dM" % size_mib], env=env)
    return img


def sign(work, keys, fs, version, counter, hw=HW, encrypt=None):
    img = os.path.join(work, "v%s-%s%s.img" % (version, hw, "-enc" if encrypt else ""))
    E.run([E.TOOL, "sign", "--key", keys.priv, "--version", version, "--security-counter",
           str(counter), "--hw-id", hw, "-q"] + (["--encrypt", encrypt] if encrypt else []) +
          [fs, img])
    return img


class LinuxDevice(E.AgentLog):
    """Slot files + bootloader environment + agent config, driven by ota-agent."""

    def __init__(self, work, name, server, keys, bootloader="grub", slot_mib=SLOT_MIB,
                 register=True, extra_conf=None):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.server = server
        self.keys = keys
        self.bootloader = bootloader
        self.slots = [os.path.join(self.dir, "slot-a"), os.path.join(self.dir, "slot-b")]
        for s in self.slots:
            with open(s, "wb") as f:
                f.truncate(slot_mib << 20)
        self.cmdline = os.path.join(self.dir, "cmdline")
        self.conf = os.path.join(self.dir, "agent.conf")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.state = os.path.join(self.dir, "agent-state.json")
        self.selftest_flag = os.path.join(self.dir, "selftest-fails")
        self.attempts = 3
        if bootloader == "grub":
            self.grubenv = os.path.join(self.dir, "grubenv")
            E.run(["grub-editenv", self.grubenv, "create"])
        else:
            self.envfile = os.path.join(self.dir, "uboot.env")
            self.fwconf = os.path.join(self.dir, "fw_env.config")
            txt = os.path.join(self.dir, "uboot-env.txt")
            with open(txt, "w") as f:
                f.write("bootdelay=0\n")
            E.run(["mkenvimage", "-s", "0x4000", "-o", self.envfile, txt])
            with open(self.fwconf, "w") as f:
                f.write("%s 0x0 0x4000\n" % self.envfile)
        self.token = ""
        if register and server:
            self.token = server.api("POST", "/v1/devices", {"id": name, "hw_id": HW})["token"]
        self.write_conf(extra_conf)

    # ---- configuration ---------------------------------------------------
    def write_conf(self, extra=None):
        conf = {
            "backend": "linux",
            "slot_a": self.slots[0],
            "slot_b": self.slots[1],
            "image_key": self.keys.pub,
            "hw_id": HW,
            "bootloader": self.bootloader,
            "cmdline": self.cmdline,
            "state_file": self.state,
            "selftest_cmd": "test ! -e %s" % self.selftest_flag,
            "log_level": "info",
        }
        if self.bootloader == "grub":
            conf["grubenv"] = self.grubenv
        else:
            conf["uboot_env_config"] = self.fwconf
        if self.server:
            conf.update({
                "server": self.server.url,
                "device_id": self.name,
                "server_key": self.server.manifest_pub,
                "allow_http": "yes",
                "token": self.token,
                "poll_interval": "0.5",
                "backoff_min": "0.05",
                "backoff_max": "0.5",
                "timeout": "5",
                "stall_timeout": "3",
                "seed": "7",
            })
        conf.update(extra or {})
        self.conf_values = conf
        with open(self.conf, "w") as f:
            f.write("# written by tests/agent/linuxdev.py\n")
            for k, v in conf.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))

    # ---- the bootloader environment, read and written by the real tools --
    def env(self):
        if self.bootloader == "grub":
            out = E.run(["grub-editenv", self.grubenv, "list"]).stdout
        else:
            out = E.run(["fw_printenv", "-c", self.fwconf]).stdout
        return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)

    def set_env(self, **kv):
        if self.bootloader == "grub":
            E.run(["grub-editenv", self.grubenv, "set"] + ["%s=%s" % i for i in kv.items()])
        else:
            for k, v in kv.items():
                E.run(["fw_setenv", "-c", self.fwconf, k, v])

    # ---- a "reboot": what the shipped boot scripts do ---------------------
    def boot(self):
        """Select a slot exactly as dist/linux/grub.cfg / boot.cmd do, save the
        counters, write the kernel command line. Returns "A", "B" or None."""
        env = self.env()
        chosen = None
        if self.bootloader == "grub":
            order = env.get("ORDER", "A B").split()
            new = {}
            for slot in order:
                if chosen:
                    break
                ok = env.get(slot + "_OK", "0")
                tr = env.get(slot + "_TRY", "0")
                new[slot + "_TRY"] = "1"
                if ok == "1" and tr == "0":
                    chosen = slot
            if not chosen:
                for slot in order:
                    if env.get(slot + "_OK", "0") == "1" and not chosen:
                        chosen = slot
                        new[slot + "_TRY"] = "1"
                    elif env.get(slot + "_OK", "0") == "1":
                        new[slot + "_TRY"] = "0"
            if not chosen:  # nothing marked usable: the first slot in ORDER
                chosen = [x for x in order if x in ("A", "B")][0]
            self.set_env(**new)
        else:
            order = env.get("BOOT_ORDER", "A B").split()
            for slot in order:
                left = int(env.get("BOOT_%s_LEFT" % slot, "3"), 16)
                if left > 0:
                    chosen = slot
                    self.set_env(**{"BOOT_%s_LEFT" % slot: "%x" % (left - 1)})
                    break
            if not chosen:
                self.set_env(BOOT_A_LEFT="3", BOOT_B_LEFT="3")
                return self.boot()
        root = {"A": "/dev/vda2", "B": "/dev/vda3"}.get(chosen, "")
        with open(self.cmdline, "w") as f:
            f.write("console=ttyS0 root=%s ota.slot=%s rw\n" % (root, chosen))
        return chosen

    # ---- the agent ---------------------------------------------------------
    def agent(self, *args, check_rc=None, timeout=120):
        with open(self.log_path, "a") as log:
            log.write("==== ota-agent %s\n" % " ".join(args))
            log.flush()
            p = subprocess.run([E.AGENT, "--config", self.conf] + list(args), stdout=log,
                               stderr=subprocess.STDOUT, timeout=timeout)
        if check_rc is not None and p.returncode != check_rc:
            raise AssertionError("ota-agent %s exited %d, expected %d; log tail:\n%s"
                                 % (" ".join(args), p.returncode, check_rc, self.log_tail()))
        return p.returncode

    def spawn(self, *args):
        log = open(self.log_path, "a")
        return subprocess.Popen([E.AGENT, "--config", self.conf] + list(args), stdout=log,
                                stderr=subprocess.STDOUT)

    def provision(self, slot, image):
        return self.agent("--provision", slot, image, check_rc=0)


    def slot_bytes(self, slot, n, off=0):
        with open(self.slots["AB".index(slot)], "rb") as f:
            f.seek(off)
            return f.read(n)

    def slot_meta(self, slot):
        """The slot's metadata area (its last 64 KiB): header + TLVs."""
        size = os.path.getsize(self.slots["AB".index(slot)])
        return self.slot_bytes(slot, 65536, size - 65536)
