# SPDX-License-Identifier: Apache-2.0
"""
qemudev.py - a Linux A/B device that is a QEMU VM: releases built as ext4
root filesystems (kernel, busybox, the build tree's ota-agent) and signed
with `ota sign`, a disk whose slot A the real `ota-agent --provision` wrote
(as a factory would), the device registered with a real ota-server, and the
guest's agent configuration on its data partition.

arch="arm64": the same device on qemu-system-aarch64 booted by U-Boot with
the shipped boot.cmd, the agent cross-built for arm64 (cross.py) with
bootloader = uboot: libubootenv in the guest and U-Boot share /uboot.env on
the boot partition (fw_env.config on the data partition names it).

Why it exists: the QEMU scenarios (test_linux_*.py) and
scripts/demo-linux.sh drive the same device; this holds its set-up, the VM
(vm.py) and the checks from the host (grubenv via grub-editenv, the U-Boot
environment via fw_printenv, the server's reports).
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import cross  # noqa: E402
import mkdisk  # noqa: E402
import otae2e as E  # noqa: E402
import vm as vmmod  # noqa: E402

HW = "qemu-x86-64"
HW_ARCH = {"x86-64": HW, "arm64": "qemu-arm64"}
# paths inside the guest (data partition mounted on /var/lib/ota, boot
# partition with grub/grubenv on /mnt/boot: see mkdisk.ROOTFS_INIT)
G_DATA = "/var/lib/ota"
G_GRUBENV = "/mnt/boot/grub/grubenv"
G_UBOOT_ENV = "/mnt/boot/" + mkdisk.UBOOT_ENV


class Release:
    """A root filesystem image and its signed form."""

    def __init__(self, work, cache, keys, version, counter, behaviour="healthy", hw=None,
                 arch="x86-64"):
        self.version = version
        hw = hw or HW_ARCH[arch]
        if arch == "arm64":
            agent, extra = cross.arm64_agent(), []
        else:
            agent, extra = E.AGENT, ["/usr/bin/grub-editenv"]
        self.fs = mkdisk.build_rootfs(cache, version,
                                      os.path.join(work, "rootfs-%s.ext4" % version),
                                      behaviour=behaviour, agent=agent, extra_bins=extra,
                                      arch=arch)
        self.image = os.path.join(work, "rootfs-%s.img" % version)
        E.run([E.TOOL, "sign", "--key", keys.priv, "--version", version,
               "--security-counter", str(counter), "--hw-id", hw, "-q", self.fs, self.image])
        self.release_id = None

    def upload(self, server):
        self.release_id = server.upload(self.image)["id"]
        return self.release_id


def _write_conf(path, conf):
    with open(path, "w") as f:
        f.write("# written by tests/linux/qemudev.py\n")
        for k, v in conf.items():
            f.write("%s = %s\n" % (k, v))


class QemuDevice:
    def __init__(self, work, cache, server, keys, name, factory, machines, link_rate=0,
                 arch="x86-64"):
        self.work = work
        self.name = name
        self.arch = arch
        self.server = server
        self.keys = keys
        self.dir = os.path.join(work, name)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        hw = HW_ARCH[arch]
        self.token = server.api("POST", "/v1/devices", {"id": name, "hw_id": hw})["token"]
        E.run(["cp", keys.pub, os.path.join(self.data, "image-key.pub.pem")])
        E.run(["cp", server.manifest_pub, os.path.join(self.data, "manifest-key.pub.pem")])
        self.conf = {
            "backend": "linux",
            "slot_a": "/dev/vda2",
            "slot_b": "/dev/vda3",
            "image_key": G_DATA + "/image-key.pub.pem",
            "hw_id": hw,
            "state_file": G_DATA + "/agent-state.json",
            "selftest_cmd": "/usr/libexec/ota-selftest",
            "server": vmmod.GUEST_SERVER_URL,
            "allow_http": "yes",
            "device_id": name,
            "token": self.token,
            "server_key": G_DATA + "/manifest-key.pub.pem",
            "poll_interval": "1",
            "backoff_min": "0.5",
            "backoff_max": "2",
            "timeout": "20",
            "stall_timeout": "20",
            "log_level": "info",
        }
        if server.tls:
            # TLS end to end: the relay carries the TLS bytes untouched; the
            # agent checks the server's certificate (for 10.0.2.100) with it
            E.run(["cp", server.tls[0], os.path.join(self.data, "server-cert.pem")])
            del self.conf["allow_http"]
            self.conf.update(server=vmmod.GUEST_SERVER_TLS_URL,
                             ca_file=G_DATA + "/server-cert.pem")
        if arch == "arm64":
            # libubootenv: the file U-Boot imports and writes back (boot.cmd's
            # ota_envfile), whole, no redundant copy
            with open(os.path.join(self.data, "fw_env.config"), "w") as f:
                f.write("%s 0x0 0x%x\n" % (G_UBOOT_ENV, mkdisk.UBOOT_ENV_SIZE))
            self.conf.update(bootloader="uboot", uboot_env_config=G_DATA + "/fw_env.config")
        else:
            self.conf.update(bootloader="grub", grubenv=G_GRUBENV)
        _write_conf(os.path.join(self.data, "agent.conf"), self.conf)
        self.disk = os.path.join(self.dir, "disk.img")
        self._provision(factory)
        self.vm = machines.vm(self.disk, server_port=server.port, name=name,
                              link_rate=link_rate, arch=arch,
                              guest_port=443 if server.tls else 80)

    def _provision(self, release):
        """Slot A written by `ota-agent --provision A` on the host, as a
        factory station would: the same agent, the slot and environment as
        files, the anti-rollback floor into the data partition's state."""
        slots = [os.path.join(self.dir, "slot-a.img"), os.path.join(self.dir, "slot-b.img")]
        for s in slots:
            with open(s, "wb") as f:
                f.truncate(mkdisk.ARCHES[self.arch]["slot_mib"] * mkdisk.MIB)
        if self.arch == "arm64":
            # an empty U-Boot environment (mkenvimage), filled by --provision
            env = os.path.join(self.dir, "factory-uboot.env")
            E.run(["mkenvimage", "-s", str(mkdisk.UBOOT_ENV_SIZE), "-o", env, "/dev/null"])
            envconf = os.path.join(self.dir, "factory-fw_env.config")
            with open(envconf, "w") as f:
                f.write("%s 0x0 0x%x\n" % (env, mkdisk.UBOOT_ENV_SIZE))
            bootenv = {"uboot_env_config": envconf}
        else:
            grubenv = os.path.join(self.dir, "factory-grubenv")
            E.run(["grub-editenv", grubenv, "create"])
            bootenv = {"grubenv": grubenv}
        # the factory station runs neither slot: its command line names none
        cmdline = os.path.join(self.dir, "factory-cmdline")
        with open(cmdline, "w") as f:
            f.write("console=ttyS0\n")
        conf = dict(self.conf, slot_a=slots[0], slot_b=slots[1],
                    image_key=self.keys.pub, cmdline=cmdline, **bootenv,
                    state_file=os.path.join(self.data, "agent-state.json"),
                    server_key=self.server.manifest_pub)
        if "ca_file" in conf:
            conf["ca_file"] = self.server.tls[0]
        path = os.path.join(self.dir, "factory.conf")
        _write_conf(path, conf)
        p = E.run([E.AGENT, "--config", path, "--provision", "A", release.image], check=False)
        if p.returncode != 0:
            raise AssertionError("ota-agent --provision A %s exited %d:\n%s%s"
                                 % (release.image, p.returncode, p.stdout, p.stderr))
        if self.arch == "arm64":
            mkdisk.build_uboot_disk(self.disk, slots[0], env, data_dir=self.data)
            os.unlink(slots[0])
            os.unlink(slots[1])
            return
        env = dict(l.split("=", 1) for l in
                   E.run(["grub-editenv", grubenv, "list"]).stdout.splitlines() if "=" in l)
        mkdisk.build_disk(self.disk, slots[0], mkdisk.disk_grub_files(), env, data_dir=self.data)
        os.unlink(slots[0])
        os.unlink(slots[1])

    def grubenv(self):
        """The disk's GRUB environment, read with `grub-editenv FILE list`."""
        return mkdisk.grubenv_of(self.disk, self.dir)

    def ubootenv(self):
        """The disk's U-Boot environment file, read with `fw_printenv -c`."""
        return mkdisk.uboot_env_of(self.disk, self.dir)

    def reports(self):
        return self.server.reports(self.name)

    def report_states(self):
        return [r["state"] for r in self.reports()]

    def wait_report(self, state, count, timeout):
        return E.wait_for(lambda: self.report_states().count(state) >= count, timeout,
                          "%d '%s' report(s) from %s (so far: %s)"
                          % (count, state, self.name, self.report_states()))


def selftest_rollback(dev, server, bad, trial_slot, back_version, back_slot, boot):
    """Roll out `bad` (a release built with behaviour fail-selftest) to dev
    and watch the whole failure: the trial boot of trial_slot fails its
    self-test, `--confirm` exits 21, the machine reboots into back_version
    in back_slot, the agent reports rolled-back and the campaign halts.
    Returns the console mark taken before the campaign."""
    vm = dev.vm
    since = vm.mark()
    c = server.campaign(bad.upload(server), [{"percent": 100, "max_failure_ratio": 0.0}])
    vm.wait(r"^OTA-GUEST: booted release=%s behaviour=fail-selftest slot=%s$"
            % (re.escape(bad.version), trial_slot), boot * 2, since=since)
    vm.wait(r"^OTA-GUEST: self-test FAILED", boot, since=since)
    vm.wait(r"^OTA-GUEST: ota-agent --confirm exited 21$", boot, since=since)
    vm.wait(r"^OTA-GUEST: booted release=%s \S+ slot=%s$" % (re.escape(back_version), back_slot),
            boot, since=since)
    rolled_back(dev, server, c["id"], "failed its self-test", bad.version, boot)
    return since


def rolled_back(dev, server, campaign_id, why, version, boot):
    """dev reports rolled-back (its detail naming `why` and `version`) and
    the campaign halts on it."""
    dev.wait_report("rolled-back", 1, boot)
    rep = [r for r in dev.reports() if r["state"] == "rolled-back"][0]
    assert why in rep["detail"] and version in rep["detail"], rep
    E.wait_for(lambda: server.campaign_status(campaign_id)["state"] == "halted", 60,
               "campaign of the failing release %s halted" % version)


def full_update(dev, server, release, slot, successes, boot):
    """Roll out `release` to dev and wait for the full update: the reboot
    into `slot`, the agent's "succeeded", the server's `successes`-th
    success report. Returns (console mark before the campaign, campaign)."""
    vm = dev.vm
    since = vm.mark()
    c = server.campaign(release.upload(server), [{"percent": 100}])
    v = re.escape(release.version)
    vm.wait(r"^OTA-GUEST: booted release=%s \S+ slot=%s$" % (v, slot), boot * 2, since=since)
    vm.wait(r"update to %s\+0 succeeded" % v, boot, since=since)
    dev.wait_report("success", successes, 60)
    assert "full payload" in vm.console()[since:]
    return since, c


def installed_to_confirmed(console, version, slot, since):
    """Seconds from the agent's "installed" to the trial boot's confirmation."""
    t0 = log_time(console, r"installed %s\+0: verified and pending" % re.escape(version), since)
    t1 = log_time(console, r"trial boot of slot %s: self-test passed, confirmed" % slot, since)
    return t1 - t0


def log_time(console, pattern, since=0):
    """UTC seconds of the first agent log line after `since` matching
    regex `pattern` (the agent stamps its lines with the guest's clock,
    which QEMU starts from the host's)."""
    import calendar
    import re
    import time as _t
    rx = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z .*" + pattern, re.M)
    m = rx.search(console, since)
    if not m:
        raise AssertionError("no agent log line matching %r in the console" % pattern)
    return calendar.timegm(_t.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1e3
