# SPDX-License-Identifier: Apache-2.0
"""
test_linux_update.py - a real Linux system updates itself: a QEMU VM
(SeaBIOS, GRUB i386-pc with the shipped dist/linux/grub.cfg, a Debian
kernel, busybox) runs the build tree's ota-agent with backend = linux
against a real ota-server on the host's 127.0.0.1, reached only through
QEMU user networking (restrict=on) and a guestfwd. Nothing between the agent
and the bootloader is simulated: the agent writes /dev/vda3, runs
grub-editenv on the boot partition, the guest reboots, GRUB picks the slot.
"""

import time

import pytest

import qemudev  # noqa: F401  (puts tests/e2e on sys.path)
import otae2e as E

BOOT = 300          # seconds for a boot (TCG on a loaded 2-core machine)


@pytest.fixture
def server(work):
    keys = E.Keys(work)
    s = E.Server(work, keys.pub, extra=["--no-delta"]).start()
    yield s, keys
    s.stop()


def wait_state(dev, state, timeout):
    return E.wait_for(lambda: state in dev.report_states(), timeout,
                      "%s report from %s (reports so far: %s)"
                      % (state, dev.name, dev.report_states()))


def test_full_update_a_to_b_with_reboot(cache, work, machines, server):
    s, keys = server
    v1 = qemudev.Release(work, cache, keys, "1.0.0", 1)
    v2 = qemudev.Release(work, cache, keys, "2.0.0", 2)
    v1.upload(s)
    dev = qemudev.QemuDevice(work, cache, s, keys, "vm-1", v1, machines)
    env = dev.grubenv()
    assert (env.get("ORDER"), env.get("A_OK"), env.get("B_OK")) == ("A B", "1", "0"), env
    vm = dev.vm
    vm.start()
    vm.wait(r"^OTA-GUEST: booted release=1\.0\.0 \S+ slot=A$", BOOT)
    c = s.campaign(v2.upload(s), [{"percent": 100}])
    m = vm.wait(r"^OTA-GUEST: booted release=2\.0\.0 \S+ slot=B$", BOOT * 2)
    t_boot = time.time()
    wait_state(dev, "success", BOOT)
    print("\nA->B: installed -> confirmed in the VM: see the agent log")
    states = dev.report_states()
    assert states.index("installed-rebooting") < states.index("success"), states
    vm.stop()
    env = dev.grubenv()
    assert (env["ORDER"], env["B_OK"], env["B_TRY"]) == ("B A", "1", "0"), env
    assert s.campaign_status(c["id"])["counts"].get("success") == 1
