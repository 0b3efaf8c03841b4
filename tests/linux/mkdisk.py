#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
mkdisk.py - builds the Linux test VM of tests/linux/ without root privileges
and without loop devices: a Debian kernel and busybox-static fetched with
`apt-get download` (cached), a busybox initramfs, ext4 root filesystem
images for the A/B slots (`mke2fs -d`), a FAT boot partition (mtools) with
grub.cfg and grubenv, and an MBR disk (`sfdisk` on a file) booted by GRUB
i386-pc (boot.img + core.img written into the file) under SeaBIOS.

The arm64 variant (arch="arm64"): the same partitions and root filesystem
for `qemu-system-aarch64 -M virt` booted by Debian's U-Boot (u-boot-qemu,
qemu_arm64): Debian's arm64 kernel and busybox-static:arm64 (dpkg multiarch,
scripts/setup.sh), ota-agent cross-built for arm64 (cross.py), its
libraries found by their ELF NEEDED entries in the arm64 multiarch
directories, and a FAT boot partition holding boot.scr (the shipped
dist/linux/boot.cmd after the board's settings) and uboot.env, the
environment file U-Boot and libubootenv share.

Why it exists: the QEMU scenarios (test_linux_*.py) and scripts/demo-linux.sh
need the same guest; this is the one place that knows how it is made.
Disk layout and boot flow: docs/linux.md, "The QEMU test VM".

Library (used by vm.py and the tests) and CLI:
  mkdisk.py rootfs --cache DIR --version V [--behaviour B] [--agent PATH] -o FS.ext4
  mkdisk.py disk --cache DIR --slot-a FS.ext4 --grub-file grub.cfg=FILE ... [--data-dir D] -o DISK
"""

import argparse
import fcntl
import glob
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

HERE_DIR = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024
SECTOR = 512

# Partition layout (MiB). p1 boot (FAT: grub.cfg, grubenv), p2 slot A,
# p3 slot B, p4 data (agent state, device configuration).
BOOT_MIB = 16
SLOT_MIB = 64
DATA_MIB = 16
FIRST_MIB = 1                       # the MBR gap that holds GRUB's core.img

# Kernel modules the guest needs (dependencies are added from the modules'
# own `depends=` tags, in load order): disks, network, ext4 and the crc32c
# implementation ext4 and jbd2 ask the crypto API for, FAT for the boot
# partition (grubenv) with the default code page and character set.
MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "crc32c_generic", "ext4", "vfat",
           "nls_cp437", "nls_ascii"]

# What differs between the guests: Debian architecture, the kernel's
# metapackage, where the slot keeps the kernel (the boot script's
# ota_kernel; arm64: Debian's uncompressed Image, gzip'd here, which U-Boot's
# booti decompresses: 33 MB less to download per update), its modules
# (arm64 -M virt: virtio over MMIO), and where the arm64 libraries are
# (multiarch) when the host is not that architecture.
ARCHES = {
    "x86-64": {"deb": "amd64", "kernel_meta": "linux-image-amd64", "kernel": "/boot/vmlinuz",
               "modules": MODULES, "libdirs": None, "slot_mib": SLOT_MIB},
    "arm64": {"deb": "arm64", "kernel_meta": "linux-image-arm64", "kernel": "/boot/Image.gz",
              "modules": ["virtio_mmio"] + MODULES[1:], "slot_mib": 96,
              "libdirs": ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]},
}
# U-Boot's environment file on the boot partition (dist/linux/boot.cmd's
# ota_envfile; CONFIG_ENV_SIZE of Debian's qemu_arm64 build)
UBOOT_ENV = "uboot.env"
UBOOT_ENV_SIZE = 0x40000

# GRUB modules built into core.img (nothing is loaded from the disk later).
GRUB_MODULES = ["biosdisk", "part_msdos", "fat", "ext2", "normal", "linux", "loadenv",
                "test", "echo", "configfile", "reboot", "halt", "sleep", "cat",
                "regexp", "gzio", "serial", "terminal"]


def log(msg):
    print("mkdisk: " + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s"
                           % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p.stdout


class _Lock:
    """An exclusive lock on DIR/.lock (parallel tests share one cache)."""

    def __init__(self, d):
        os.makedirs(d, exist_ok=True)
        self.f = open(os.path.join(d, ".lock"), "w")

    def __enter__(self):
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *a):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


_KERNEL_PACKAGE = {}


def kernel_package(arch="x86-64"):
    """The versioned kernel package the kernel metapackage depends on today
    (asked once per process)."""
    if arch in _KERNEL_PACKAGE:
        return _KERNEL_PACKAGE[arch]
    a = ARCHES[arch]
    meta = "%s:%s" % (a["kernel_meta"], a["deb"])
    out = run(["apt-cache", "depends", meta])
    m = re.search(r"Depends:\s*(linux-image-[0-9][^\s:]*-%s)" % a["kernel_meta"].split("-")[-1], out)
    if not m:
        raise RuntimeError("apt-cache depends %s names no kernel package:\n%s" % (meta, out))
    _KERNEL_PACKAGE[arch] = m.group(1)
    return m.group(1)


def _fetch_unpacked(cache, package, arch="x86-64"):
    """`apt-get download PACKAGE:ARCH` into cache and `dpkg-deb -x` it once;
    returns the unpacked directory."""
    deb_arch = ARCHES[arch]["deb"]
    pattern = os.path.join(cache, "%s_*_%s.deb" % (package, deb_arch))
    with _Lock(cache):
        debs = sorted(glob.glob(pattern))
        if not debs:
            log("apt-get download %s:%s" % (package, deb_arch))
            run(["apt-get", "download", "-q", "%s:%s" % (package, deb_arch)], cwd=cache)
            debs = sorted(glob.glob(pattern))
            if not debs:
                raise RuntimeError("apt-get download %s:%s left no .deb in %s (for arm64: "
                                   "dpkg --add-architecture arm64, scripts/setup.sh)"
                                   % (package, deb_arch, cache))
        deb = debs[-1]
        out = deb[:-len(".deb")]
        if not os.path.isdir(out):
            tmp = out + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            run(["dpkg-deb", "-x", deb, tmp])
            os.rename(tmp, out)
        return out


def kernel(cache, arch="x86-64"):
    """(vmlinuz path, modules dir) of the unpacked Debian kernel."""
    root = _fetch_unpacked(cache, kernel_package(arch), arch)
    vmlinuz = glob.glob(os.path.join(root, "boot", "vmlinuz-*"))
    mods = glob.glob(os.path.join(root, "lib", "modules", "*"))
    if len(vmlinuz) != 1 or len(mods) != 1:
        raise RuntimeError("unexpected kernel package layout in %s" % root)
    return vmlinuz[0], mods[0]


def _kernel_gz(cache, vmlinuz):
    """vmlinuz gzip'd once into the cache (no timestamp: every release holds
    the same bytes)."""
    out = os.path.join(cache, os.path.basename(vmlinuz) + ".gz")
    with _Lock(cache):
        if not os.path.exists(out):
            with open(vmlinuz, "rb") as fi, open(out + ".tmp", "wb") as fo:
                with gzip.GzipFile(filename="", mode="wb", fileobj=fo, mtime=0,
                                   compresslevel=6) as z:
                    shutil.copyfileobj(fi, z)
            os.rename(out + ".tmp", out)
    return out


def busybox(cache, arch="x86-64"):
    root = _fetch_unpacked(cache, "busybox-static", arch)
    path = os.path.join(root, "bin", "busybox")
    if not os.path.isfile(path):
        raise RuntimeError("busybox-static has no bin/busybox in " + root)
    return path


def _modinfo_depends(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if m is None:
        raise RuntimeError("%s: no depends= tag" % path)
    return [d for d in m.group(1).decode().split(",") if d]


def module_files(moddir, names=MODULES):
    """The .ko files for names and their dependencies, in load order."""
    index = {}
    for p in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko"), recursive=True):
        index[os.path.basename(p)[:-3].replace("-", "_")] = p
    order, seen = [], set()

    def visit(n):
        n = n.replace("-", "_")
        if n in seen:
            return
        if n not in index:
            raise RuntimeError("kernel module %s not found under %s" % (n, moddir))
        seen.add(n)
        for d in _modinfo_depends(index[n]):
            visit(d)
        order.append(index[n])

    for n in names:
        visit(n)
    return order


def _cpio_newc(root, out):
    """A gzip'd newc cpio archive of the tree at root, owned by 0:0."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            names.append(os.path.relpath(os.path.join(dirpath, n), root))
    p = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                       input=("\n".join(names) + "\n").encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("cpio failed: " + p.stderr.decode())
    with gzip.open(out, "wb", compresslevel=6) as f:
        f.write(p.stdout)


INITRAMFS_INIT = r"""#!/bin/busybox sh
# initramfs /init (tests/linux/mkdisk.py): load the drivers, mount the slot
# named by root= read-only, hand over to its /sbin/init.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in $(/bin/busybox cat /modules.order); do /bin/busybox insmod /lib/modules/$m; done
root=""
for a in $(/bin/busybox cat /proc/cmdline); do
  case "$a" in root=*) root="${a#root=}";; esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do /bin/busybox sleep 0.1; i=$((i+1)); done
# read-only: the slot must stay byte for byte what the agent installed
/bin/busybox blockdev --setro "$root"
if ! /bin/busybox mount -t ext4 -o ro "$root" /newroot; then
  echo "OTA-INITRAMFS: cannot mount root '$root'"
  /bin/busybox poweroff -f
fi
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /sbin/init
"""


def build_initramfs(cache, out, arch="x86-64"):
    _, moddir = kernel(cache, arch)
    bb = busybox(cache, arch)
    with tempfile.TemporaryDirectory() as t:
        os.makedirs(os.path.join(t, "bin"))
        os.makedirs(os.path.join(t, "lib", "modules"))
        shutil.copy(bb, os.path.join(t, "bin", "busybox"))
        order = []
        for ko in module_files(moddir, ARCHES[arch]["modules"]):
            shutil.copy(ko, os.path.join(t, "lib", "modules", os.path.basename(ko)))
            order.append(os.path.basename(ko))
        with open(os.path.join(t, "modules.order"), "w") as f:
            f.write("\n".join(order) + "\n")
        with open(os.path.join(t, "init"), "w") as f:
            f.write(INITRAMFS_INIT)
        os.chmod(os.path.join(t, "init"), 0o755)
        _cpio_newc(t, out)


def cached_initramfs(cache, arch="x86-64"):
    """The initramfs for this kernel, built once into the cache (named after
    the kernel package and a hash of /init and the module list, so a change
    to either builds a new one)."""
    key = hashlib.sha256((INITRAMFS_INIT + " ".join(ARCHES[arch]["modules"])).encode())
    out = os.path.join(cache, "initrd-%s-%s.img" % (kernel_package(arch), key.hexdigest()[:12]))
    with _Lock(os.path.join(cache, "initrd.lock")):   # (build_initramfs locks cache)
        if not os.path.exists(out):
            build_initramfs(cache, out + ".tmp", arch)
            os.rename(out + ".tmp", out)
    return out


# The root filesystem's /sbin/init: mounts, network (QEMU user networking:
# 10.0.2.15, the ota-server is reached only at the guestfwd address
# 10.0.2.100:80), the data partition, then runs the agent like a service
# manager would: exit 20 (update installed) and 21 (trial failed its
# self-test) reboot the machine. A release built with behaviour "panic" has
# an init that exits at once: the kernel panics and (panic=1) resets.
ROOTFS_INIT = r"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
. /etc/ota-release
slot=""
for a in $(cat /proc/cmdline); do
  case "$a" in rauc.slot=*) slot="${a#rauc.slot=}";; ota.slot=*) slot="${a#ota.slot=}";; esac
done
echo "OTA-GUEST: booted release=$OTA_RELEASE behaviour=$OTA_BEHAVIOUR slot=$slot"
if [ "$OTA_BEHAVIOUR" = panic ]; then echo "OTA-GUEST: init exits (kernel panic)"; exit 1; fi
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mount -t ext4 /dev/vda4 /var/lib/ota || echo "OTA-GUEST: cannot mount data partition"
mount -t vfat /dev/vda1 /mnt/boot || echo "OTA-GUEST: cannot mount boot partition"
if [ -x /var/lib/ota/guest.sh ]; then
  # a test's own script (tests/linux/: the VM infrastructure test)
  /var/lib/ota/guest.sh
elif [ -f /var/lib/ota/agent.conf ]; then
  # what ota-agent-confirm.service does at boot: self-test a trial slot and
  # confirm it, or mark it failed (exit 21: reboot to fall back)
  ota-agent --config /var/lib/ota/agent.conf --confirm
  rc=$?
  echo "OTA-GUEST: ota-agent --confirm exited $rc"
  if [ $rc = 21 ] || [ $rc = 20 ]; then sync; echo "OTA-GUEST: rebooting"; reboot -f; fi
  while true; do
    ota-agent --config /var/lib/ota/agent.conf
    rc=$?
    echo "OTA-GUEST: ota-agent exited $rc"
    case $rc in
      20|21) sync; echo "OTA-GUEST: rebooting"; reboot -f;;
      *) sleep 2;;
    esac
  done
fi
echo "OTA-GUEST: halting"
sync
poweroff -f
"""

# The self-test the agent runs after a trial boot (selftest_cmd).
SELFTEST = r"""#!/bin/sh
. /etc/ota-release
if [ "$OTA_BEHAVIOUR" = fail-selftest ]; then
  echo "OTA-GUEST: self-test FAILED (release $OTA_RELEASE)"; exit 1
fi
echo "OTA-GUEST: self-test passed (release $OTA_RELEASE)"
exit 0
"""


def _elf_libs(binary, libdirs):
    """The program interpreter and the libraries binary needs, recursively,
    from their ELF headers (readelf), found in libdirs: for a binary of
    another architecture, which ldd cannot run."""
    found, todo = [], [binary]
    while todo:
        f = todo.pop()
        out = run(["readelf", "-d", "-l", "-W", f])
        names = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
        interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", out)
        paths = [interp.group(1)] if interp else []
        for n in names:
            hits = [os.path.join(d, n) for d in libdirs if os.path.exists(os.path.join(d, n))]
            if not hits:
                raise RuntimeError("%s needs %s, not found in %s" % (f, n, libdirs))
            paths.append(hits[0])
        for p in paths:
            if p not in found:
                found.append(p)
                todo.append(p)
    return found


def _shared_libs(binary, arch="x86-64"):
    """The libraries binary links: from ldd on the host's architecture,
    from the ELF headers for another one."""
    if ARCHES[arch]["libdirs"]:
        return _elf_libs(binary, ARCHES[arch]["libdirs"])
    out = run(["ldd", binary])
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
    return libs


def _copy_resolved(src, tree, dest):
    """Copy src to tree/dest, following symlinks (the guest needs the file)."""
    d = os.path.join(tree, dest.lstrip("/"))
    os.makedirs(os.path.dirname(d), exist_ok=True)
    shutil.copy(os.path.realpath(src), d)


def build_rootfs(cache, version, out, behaviour="healthy", agent=None, initramfs=None,
                 extra_bins=(), arch="x86-64"):
    """An ext4 image (no journal: mounted read-only, never changed by a
    boot) holding kernel, initramfs, busybox, ota-agent and its libraries,
    and the host programs extra_bins (e.g. grub-editenv) with theirs.
    Returns out."""
    vmlinuz, _ = kernel(cache, arch)
    bb = busybox(cache, arch)
    with tempfile.TemporaryDirectory() as t:
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec", "etc/ota", "proc",
                  "sys", "dev", "tmp", "run", "var/lib/ota", "boot", "root", "mnt/boot"]:
            os.makedirs(os.path.join(t, d), exist_ok=True)
        shutil.copy(bb, os.path.join(t, "bin", "busybox"))
        # the applet list of the host's busybox (the same version): the
        # arm64 one cannot run here
        applets = run([busybox(cache), "--list-full"]).split()
        for a in applets:
            link = os.path.join(t, a)
            if not os.path.lexists(link):
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink("/bin/busybox", link)
        # /sbin/init is ours, not busybox's
        os.unlink(os.path.join(t, "sbin", "init"))
        with open(os.path.join(t, "sbin", "init"), "w") as f:
            f.write(ROOTFS_INIT)
        with open(os.path.join(t, "usr", "libexec", "ota-selftest"), "w") as f:
            f.write(SELFTEST)
        for p in ["sbin/init", "usr/libexec/ota-selftest"]:
            os.chmod(os.path.join(t, p), 0o755)
        with open(os.path.join(t, "etc", "ota-release"), "w") as f:
            f.write("OTA_RELEASE=%s\nOTA_BEHAVIOUR=%s\n" % (version, behaviour))
        with open(os.path.join(t, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        kdest = os.path.join(t, ARCHES[arch]["kernel"].lstrip("/"))
        shutil.copy(_kernel_gz(cache, vmlinuz) if kdest.endswith(".gz") else vmlinuz, kdest)
        shutil.copy(initramfs or cached_initramfs(cache, arch),
                    os.path.join(t, "boot", "initrd.img"))
        bins = [(agent, "/usr/bin/ota-agent")] if agent else []
        bins += [(b, b) for b in extra_bins]
        for src, dest in bins:
            dst = os.path.join(t, dest.lstrip("/"))
            shutil.copy(src, dst)
            run(["strip" if arch == "x86-64" else "aarch64-linux-gnu-strip",
                 "--strip-unneeded", dst])
            for lib in _shared_libs(src, arch):
                _copy_resolved(lib, t, lib)
        size = _tree_bytes(t)
        # room for metadata, rounded to whole MiB
        fs_bytes = ((size * 11 // 10 + 2 * MIB) + MIB - 1) // MIB * MIB
        slot_mib = ARCHES[arch]["slot_mib"]
        if fs_bytes > slot_mib * MIB - 4 * MIB:
            raise RuntimeError("root filesystem of %d bytes does not fit a %d MiB slot"
                               % (fs_bytes, slot_mib))
        # one filesystem UUID for every release (as a product's builds keep
        # theirs), fixed timestamps: releases differ only where their files do
        seed = hashlib.sha256(b"ota-test-rootfs").hexdigest()
        uuid = "%s-%s-%s-%s-%s" % (seed[0:8], seed[8:12], seed[12:16], seed[16:20], seed[20:32])
        if os.path.exists(out):
            os.unlink(out)
        env = dict(os.environ, E2FSPROGS_FAKE_TIME="1764720000")
        run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096",
             "-O", "^has_journal,^orphan_file,^metadata_csum_seed",
             "-E", "root_owner=0:0,hash_seed=" + uuid, "-U", uuid,
             "-L", "rootfs", "-d", t, out, str(fs_bytes // 1024) + "k"], env=env)
    return out


def _tree_bytes(root):
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                total += (st.st_size + 4095) // 4096 * 4096
            else:
                total += 4096
    return total


def partitions(arch="x86-64"):
    """[(start_sector, size_sectors)] of p1..p4."""
    parts, start = [], FIRST_MIB * MIB // SECTOR
    slot = ARCHES[arch]["slot_mib"]
    for mib in (BOOT_MIB, slot, slot, DATA_MIB):
        parts.append((start, mib * MIB // SECTOR))
        start += mib * MIB // SECTOR
    return parts


def disk_bytes(arch="x86-64"):
    s, n = partitions(arch)[-1]
    return (s + n) * SECTOR


def _write_at(disk, offset, src, limit):
    size = os.path.getsize(src)
    if size > limit:
        raise RuntimeError("%s (%d bytes) does not fit its partition (%d bytes)"
                           % (src, size, limit))
    with open(src, "rb") as fi, open(disk, "r+b") as fo:
        fo.seek(offset)
        while True:
            b = fi.read(4 * MIB)
            if not b:
                break
            fo.write(b)


def grub_core(out):
    """GRUB i386-pc core.img finding its config on (hd0,msdos1)/grub."""
    run(["grub-mkimage", "-O", "i386-pc", "-o", out, "-p", "(hd0,msdos1)/grub"]
        + GRUB_MODULES)
    return out


# GRUB for UEFI (OVMF): a standalone BOOTX64.EFI on the same FAT partition
# (the ESP) whose embedded config hands over to the disk's /grub/grub.cfg, so
# both firmwares run the same grub.cfg, fragment and grubenv.
EFI_EMBEDDED_CFG = """set prefix=(hd0,msdos1)/grub
configfile $prefix/grub.cfg
"""
EFI_MODULES = ["part_msdos", "fat", "ext2", "normal", "linux", "loadenv", "test", "echo",
               "configfile", "reboot", "halt", "sleep", "cat", "regexp", "gzio", "serial",
               "terminal", "efi_gop"]


def grub_efi(out):
    with tempfile.TemporaryDirectory() as t:
        cfg = os.path.join(t, "grub.cfg")
        with open(cfg, "w") as f:
            f.write(EFI_EMBEDDED_CFG)
        run(["grub-mkstandalone", "-O", "x86_64-efi", "-o", out,
             "--install-modules=" + " ".join(EFI_MODULES), "--modules=" + " ".join(EFI_MODULES),
             "--locales=", "--fonts=", "--themes=", "boot/grub/grub.cfg=" + cfg])
    return out


def grubenv_file(path, variables):
    if os.path.exists(path):
        os.unlink(path)
    run(["grub-editenv", path, "create"])
    if variables:
        run(["grub-editenv", path, "set"] + ["%s=%s" % kv for kv in variables.items()])


def _new_fat(out):
    """An empty FAT file system the size of the boot partition (mformat)."""
    with open(out, "wb") as f:
        f.truncate(BOOT_MIB * MIB)
    run(["mformat", "-i", out, "-T", str(BOOT_MIB * MIB // SECTOR), "-h", "64", "-s", "32",
         "-v", "OTABOOT", "::"])
    return out


def build_boot_partition(out, grub_files, grubenv_vars):
    """FAT boot partition: /grub/NAME for each NAME -> source file of
    grub_files (grub.cfg and what it sources), /grub/grubenv."""
    _new_fat(out)
    run(["mmd", "-i", out, "::/grub"])
    for name, src in sorted(grub_files.items()):
        run(["mcopy", "-i", out, src, "::/grub/" + name])
    with tempfile.TemporaryDirectory() as t:
        env = os.path.join(t, "grubenv")
        grubenv_file(env, grubenv_vars)
        run(["mcopy", "-i", out, env, "::/grub/grubenv"])
        run(["mmd", "-i", out, "::/EFI", "::/EFI/BOOT"])
        run(["mcopy", "-i", out, grub_efi(os.path.join(t, "BOOTX64.EFI")),
             "::/EFI/BOOT/BOOTX64.EFI"])


def build_data_partition(out, data_dir):
    if os.path.exists(out):
        os.unlink(out)
    args = ["mke2fs", "-q", "-F", "-t", "ext4", "-L", "otadata", "-E", "root_owner=0:0"]
    if data_dir:
        args += ["-d", data_dir]
    run(args + [out, "%dk" % (DATA_MIB * 1024)])


def _new_disk(out, boot_type, arch):
    """An empty disk file with its MBR partition table (sfdisk on the file):
    p1 of boot_type and bootable, p2-p4 Linux."""
    parts = partitions(arch)
    with open(out, "wb") as f:
        f.truncate(disk_bytes(arch))
    table = "label: dos\nunit: sectors\n"
    types = [boot_type, "83", "83", "83"]
    for i, (s, n) in enumerate(parts):
        table += "start=%d, size=%d, type=%s%s\n" % (s, n, types[i], ", bootable" if i == 0 else "")
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", out], input=table)
    return parts


def _fill_disk(out, parts, bootp, data_dir, slot_a, slot_b, tmp):
    """Write the boot partition image bootp, a data partition made from
    data_dir, and the slot images into the disk."""
    _write_at(out, parts[0][0] * SECTOR, bootp, parts[0][1] * SECTOR)
    datap = os.path.join(tmp, "data.ext4")
    build_data_partition(datap, data_dir)
    _write_at(out, parts[3][0] * SECTOR, datap, parts[3][1] * SECTOR)
    _write_at(out, parts[1][0] * SECTOR, slot_a, parts[1][1] * SECTOR)
    if slot_b:
        _write_at(out, parts[2][0] * SECTOR, slot_b, parts[2][1] * SECTOR)


def build_disk(out, slot_a, grub_files, grubenv_vars, data_dir=None, slot_b=None):
    """The whole disk: MBR + GRUB i386-pc, boot partition (also the ESP with
    GRUB's BOOTX64.EFI: the same disk boots under SeaBIOS and OVMF), slot A
    (and B), data."""
    # p1: the ESP for OVMF, FAT for GRUB i386-pc
    parts = _new_disk(out, "ef", "x86-64")
    with tempfile.TemporaryDirectory() as t:
        core = grub_core(os.path.join(t, "core.img"))
        if os.path.getsize(core) > (parts[0][0] - 1) * SECTOR:
            raise RuntimeError("GRUB core.img (%d bytes) does not fit the MBR gap"
                               % os.path.getsize(core))
        with open("/usr/lib/grub/i386-pc/boot.img", "rb") as f:
            boot = f.read()
        with open(out, "r+b") as f:
            f.write(boot[:440])          # keep the partition table and signature
            f.seek(SECTOR)
            with open(core, "rb") as c:
                f.write(c.read())
        bootp = os.path.join(t, "boot.vfat")
        build_boot_partition(bootp, grub_files, grubenv_vars)
        _fill_disk(out, parts, bootp, data_dir, slot_a, slot_b, t)
    return out


def disk_grub_files():
    """/grub/NAME -> source file: the test disk's grub.cfg and the shipped
    A/B fragment (dist/linux/grub.cfg) it sources."""
    return {"grub.cfg": os.path.join(HERE_DIR, "grub-disk.cfg"),
            "ota-ab.cfg": os.path.join(HERE_DIR, "..", "..", "dist", "linux", "grub.cfg")}


def uboot_script(out):
    """boot.scr: the board's settings (tests/linux/uboot-disk.cmd, what a
    product puts in U-Boot's default environment) followed by the shipped
    dist/linux/boot.cmd, compiled with mkimage -T script."""
    with tempfile.TemporaryDirectory() as t:
        cmd = os.path.join(t, "boot.cmd")
        with open(cmd, "w") as f:
            for src in (os.path.join(HERE_DIR, "uboot-disk.cmd"),
                        os.path.join(HERE_DIR, "..", "..", "dist", "linux", "boot.cmd")):
                with open(src) as g:
                    f.write(g.read())
        run(["mkimage", "-A", "arm64", "-T", "script", "-C", "none", "-d", cmd, out])
    return out


def build_uboot_disk(out, slot_a, env_file, data_dir=None, slot_b=None):
    """The arm64 disk: MBR, FAT boot partition (bootable: U-Boot's distro
    boot looks there for /boot.scr) with boot.scr and the environment file
    env_file as /uboot.env, slot A (and B), data."""
    if os.path.getsize(env_file) != UBOOT_ENV_SIZE:
        raise RuntimeError("%s: %d bytes, U-Boot's environment is %d"
                           % (env_file, os.path.getsize(env_file), UBOOT_ENV_SIZE))
    parts = _new_disk(out, "c", "arm64")     # p1: FAT32 (LBA)
    with tempfile.TemporaryDirectory() as t:
        bootp = _new_fat(os.path.join(t, "boot.vfat"))
        run(["mcopy", "-i", bootp, uboot_script(os.path.join(t, "boot.scr")), "::/boot.scr"])
        run(["mcopy", "-i", bootp, env_file, "::/" + UBOOT_ENV])
        _fill_disk(out, parts, bootp, data_dir, slot_a, slot_b, t)
    return out


def uboot_env_of(disk, workdir):
    """The variables of the disk's /uboot.env, read with Debian's
    `fw_printenv -c` from a copy taken out of the FAT boot partition."""
    bootp = read_partition(disk, 1, os.path.join(workdir, "boot-copy.vfat"), "arm64")
    env = os.path.join(workdir, "uboot-env-copy")
    if os.path.exists(env):
        os.unlink(env)
    run(["mcopy", "-i", bootp, "::/" + UBOOT_ENV, env])
    cfg = os.path.join(workdir, "uboot-env-copy.config")
    with open(cfg, "w") as f:
        f.write("%s 0x0 0x%x\n" % (env, UBOOT_ENV_SIZE))
    out = run(["fw_printenv", "-c", cfg])
    os.unlink(bootp)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def write_partition(disk, index, src, arch="x86-64"):
    """Write the image src at the start of partition index (1-based)."""
    s, n = partitions(arch)[index - 1]
    _write_at(disk, s * SECTOR, src, n * SECTOR)


def read_partition(disk, index, out, arch="x86-64"):
    """Copy partition index (1-based) of disk to out."""
    s, n = partitions(arch)[index - 1]
    with open(disk, "rb") as fi, open(out, "wb") as fo:
        fi.seek(s * SECTOR)
        left = n * SECTOR
        while left:
            b = fi.read(min(left, 4 * MIB))
            if not b:
                break
            fo.write(b)
            left -= len(b)
    return out


def grubenv_of(disk, workdir):
    """The variables of the disk's /grub/grubenv, read with `grub-editenv list`
    from a copy taken out of the FAT boot partition with mtools."""
    bootp = read_partition(disk, 1, os.path.join(workdir, "boot-copy.vfat"))
    env = os.path.join(workdir, "grubenv-copy")
    if os.path.exists(env):
        os.unlink(env)
    run(["mcopy", "-i", bootp, "::/grub/grubenv", env])
    out = run(["grub-editenv", env, "list"])
    os.unlink(bootp)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def set_grubenv(disk, workdir, variables):
    """Rewrite the disk's grubenv with grub-editenv (host side, VM stopped)."""
    bootp = read_partition(disk, 1, os.path.join(workdir, "boot-copy.vfat"))
    env = os.path.join(workdir, "grubenv-copy")
    if os.path.exists(env):
        os.unlink(env)
    run(["mcopy", "-i", bootp, "::/grub/grubenv", env])
    run(["grub-editenv", env, "set"] + ["%s=%s" % kv for kv in variables.items()])
    run(["mcopy", "-o", "-i", bootp, env, "::/grub/grubenv"])
    s, n = partitions()[0]
    _write_at(disk, s * SECTOR, bootp, n * SECTOR)
    os.unlink(bootp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rootfs")
    r.add_argument("--cache", required=True)
    r.add_argument("--version", required=True)
    r.add_argument("--behaviour", default="healthy",
                   choices=["healthy", "fail-selftest", "panic"])
    r.add_argument("--agent")
    r.add_argument("-o", required=True)
    d = sub.add_parser("disk")
    d.add_argument("--cache", required=True)
    d.add_argument("--slot-a", required=True)
    d.add_argument("--slot-b")
    d.add_argument("--grub-file", action="append", required=True,
                   help="NAME=FILE copied to /grub/NAME (grub.cfg=... at least)")
    d.add_argument("--data-dir")
    d.add_argument("--env", action="append", default=[], help="grubenv KEY=VALUE")
    d.add_argument("-o", required=True)
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    if a.cmd == "rootfs":
        build_rootfs(a.cache, a.version, a.o, a.behaviour, a.agent)
    else:
        env = dict(kv.split("=", 1) for kv in a.env)
        files = dict(kv.split("=", 1) for kv in a.grub_file)
        build_disk(a.o, a.slot_a, files, env, a.data_dir, a.slot_b)
    print(a.o)


if __name__ == "__main__":
    main()
