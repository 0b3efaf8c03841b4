# SPDX-License-Identifier: Apache-2.0
"""
vm.py - runs the Linux test VM (a disk made by mkdisk.py) in QEMU: SeaBIOS ->
GRUB i386-pc -> Debian kernel -> busybox init -> ota-agent, serial console
to a file, user networking with restrict=on whose only way out is a
guestfwd from 10.0.2.100:80 to one port on the host's 127.0.0.1.

Why it exists: every QEMU scenario and scripts/demo-linux.sh start, watch,
kill and restart the same machine; the QEMU command line lives here once.

Firmware: OTA_QEMU_FIRMWARE=bios (default: SeaBIOS, GRUB i386-pc) or uefi
(OVMF, GRUB x86_64-efi from the same disk's ESP). VM(arch="arm64"):
qemu-system-aarch64 -M virt with Debian's U-Boot (qemu_arm64) as its
firmware, virtio disk and network over MMIO, always TCG.

Acceleration: OTA_QEMU_ACCEL=kvm|tcg forces one; by default KVM when
/dev/kvm answers KVM_GET_API_VERSION and is not the kvm_pvm module, TCG
otherwise. (kvm_pvm runs guests inside a VM without hardware
virtualization; it emulates 16-bit code, so SeaBIOS and GRUB i386-pc take
minutes there where TCG boots in half a minute: docs/linux.md, "The QEMU test VM".)
"""

import fcntl
import os
import shutil
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_SERVER_IP = "10.0.2.100"
GUEST_SERVER_URL = "http://%s:80" % GUEST_SERVER_IP
# the same server over TLS (its certificate names GUEST_SERVER_IP)
GUEST_SERVER_TLS_URL = "https://%s:443" % GUEST_SERVER_IP
KVM_GET_API_VERSION = 0xAE00


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, KVM_GET_API_VERSION) == 12
    except OSError:
        return False
    finally:
        os.close(fd)


UBOOT_BIN = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def firmware():
    """'bios' (SeaBIOS -> GRUB i386-pc, the default) or 'uefi' (OVMF -> GRUB
    x86_64-efi): OTA_QEMU_FIRMWARE."""
    fw = os.environ.get("OTA_QEMU_FIRMWARE", "bios").strip().lower() or "bios"
    if fw not in ("bios", "uefi"):
        raise RuntimeError("OTA_QEMU_FIRMWARE must be bios or uefi, not %r" % fw)
    return fw


def kvm_is_pvm():
    return os.path.isdir("/sys/module/kvm_pvm")


def accel():
    """'kvm' or 'tcg' (OTA_QEMU_ACCEL, else KVM when usable and not PVM)."""
    forced = os.environ.get("OTA_QEMU_ACCEL", "").strip().lower()
    if forced in ("kvm", "tcg"):
        if forced == "kvm" and not kvm_usable():
            raise RuntimeError("OTA_QEMU_ACCEL=kvm but /dev/kvm is not usable")
        return forced
    if forced:
        raise RuntimeError("OTA_QEMU_ACCEL must be kvm or tcg, not %r" % forced)
    return "kvm" if kvm_usable() and not kvm_is_pvm() else "tcg"


class VM:
    """One QEMU process over `disk`; the console accumulates across reboots
    and restarts in console.log (mark() remembers where a phase starts)."""

    def __init__(self, workdir, disk, server_port=None, memory=None, name="vm", link_rate=0,
                 arch="x86-64", guest_port=80):
        self.workdir = workdir
        self.disk = disk
        self.server_port = server_port
        self.link_rate = link_rate     # bytes/s towards the guest (0: unlimited)
        self.guest_port = guest_port   # 80 (http) or 443 (https) at GUEST_SERVER_IP
        self.arch = arch
        self.firmware = "u-boot" if arch == "arm64" else firmware()
        # GRUB x86_64-efi runs out of memory loading the kernel with 256 MiB;
        # the arm64 kernel Image is loaded uncompressed (33 MB)
        self.memory = memory or (256 if self.firmware == "bios" else 512)
        self.name = name
        self.accel = "tcg" if arch == "arm64" else accel()
        self.vars = os.path.join(workdir, name + "-OVMF_VARS.fd")
        self.console_path = os.path.join(workdir, name + "-console.log")
        self.qemu_log = os.path.join(workdir, name + "-qemu.log")
        self.proc = None
        self.starts = 0

    def command(self):
        net = "user,id=n0,restrict=on"
        if self.server_port:
            net += ",guestfwd=tcp:%s:%d-cmd:%s %s %d %d" % (
                GUEST_SERVER_IP, self.guest_port, sys.executable if sys.executable else "/usr/bin/python3",
                os.path.join(HERE, "relay.py"), self.server_port, self.link_rate)
        common = ["-m", str(self.memory), "-nodefaults", "-no-user-config", "-display", "none",
                  "-chardev", "file,id=con,path=%s,append=on" % self.console_path,
                  "-serial", "chardev:con", "-netdev", net]
        if self.arch == "arm64":
            return ["qemu-system-aarch64", "-machine", "virt", "-cpu", "cortex-a57",
                    "-bios", UBOOT_BIN] + common + [
                    "-drive", "file=%s,format=raw,if=none,id=d0,cache=writeback" % self.disk,
                    "-device", "virtio-blk-device,drive=d0",
                    "-device", "virtio-net-device,netdev=n0", "-accel", "tcg"]
        cmd = ["qemu-system-x86_64", "-machine", "pc"] + common + [
               "-drive", "file=%s,format=raw,if=virtio,cache=writeback" % self.disk,
               "-device", "virtio-net-pci,netdev=n0"]
        if self.firmware == "uefi":
            if not os.path.exists(self.vars):
                shutil.copy(OVMF_VARS, self.vars)   # the machine's own UEFI variables
            cmd += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
                    "-drive", "if=pflash,format=raw,unit=1,file=" + self.vars]
        if self.accel == "kvm":
            cmd += ["-accel", "kvm"]
        else:
            cmd += ["-accel", "tcg"]
        return cmd

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "VM already running"
        self.starts += 1
        with open(self.console_path, "ab") as f:
            f.write(b"\n=== vm.py: QEMU start %d (%s, %s) ===\n"
                    % (self.starts, self.accel.encode(), self.firmware.encode()))
        self.log_f = open(self.qemu_log, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self.log_f, stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def console(self):
        try:
            with open(self.console_path, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def mark(self):
        """The console's current length: pass to wait()/lines() as `since`."""
        return len(self.console())

    def lines(self, prefix="OTA-GUEST:", since=0):
        return [l for l in self.console()[since:].splitlines() if l.startswith(prefix)]

    def wait(self, pattern, timeout, since=0, count=1):
        """Wait until regex `pattern` matched `count` times in the console
        after `since`; returns the last match. Fails early when QEMU exits."""
        rx = re.compile(pattern, re.M)
        end = time.time() + timeout
        while True:
            found = list(rx.finditer(self.console()[since:]))
            if len(found) >= count:
                return found[count - 1]
            if not self.running():
                raise AssertionError("QEMU exited (%s) before the console showed %r %d time(s)\n%s"
                                     % (self.proc.returncode if self.proc else None, pattern,
                                        count, self.tail()))
            if time.time() > end:
                raise AssertionError("timed out after %.0fs (%s) waiting for %r %d time(s)\n%s"
                                     % (timeout, self.accel, pattern, count, self.tail()))
            time.sleep(0.2)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("QEMU still running after %.0fs\n%s" % (timeout, self.tail()))

    def kill(self):
        """SIGKILL: the machine loses power (its page cache with it)."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def stop(self):
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close()

    def _close(self):
        if getattr(self, "log_f", None):
            self.log_f.close()
            self.log_f = None

    def tail(self, n=60):
        lines = self.console().splitlines()[-n:]
        try:
            with open(self.qemu_log, "rb") as f:
                q = f.read().decode("utf-8", "replace").strip()
        except FileNotFoundError:
            q = ""
        return ("--- console (last %d lines) ---\n%s\n--- qemu ---\n%s"
                % (n, "\n".join(lines), q[-2000:]))
