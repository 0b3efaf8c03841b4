# SPDX-License-Identifier: Apache-2.0
# dist/linux/boot.cmd - A/B root filesystem selection for U-Boot, driven by
# the U-Boot environment that ota-agent (backend = linux, bootloader = uboot)
# writes through libubootenv. The variables and logic of RAUC (its
# contrib/uboot.sh), so a RAUC-style system boots the same way:
#   BOOT_ORDER="A B"          slots in the order they are tried
#   BOOT_A_LEFT, BOOT_B_LEFT  boots left (hex); each boot of a slot takes one,
#                             a good boot (ota-agent --confirm) resets it; 0 =
#                             never boot (an update in progress, a failed trial)
# Compile:  mkimage -A arm64 -T script -C none -d boot.cmd boot.scr
# Set in the default environment (or before `source`):
#   ota_dev      storage of the slots, e.g. "virtio 0" or "mmc 0"
#   ota_part_a, ota_part_b   partition numbers of the slots (e.g. 2 and 3)
#   ota_root_a, ota_root_b   kernel root= of each slot (e.g. /dev/vda2)
#   ota_kernel   kernel path inside the slot filesystem (e.g. /boot/Image)
#   ota_initrd   initramfs path inside the slot (optional)
#   ota_cmdline  extra kernel arguments (e.g. "console=ttyAMA0 panic=5")
#   ota_boot     boot command: booti (arm64, default) or bootz (arm)
# The environment is where U-Boot keeps it (saveenv: flash, eMMC...), unless
#   ota_envfile  names a file on ${ota_dev}:${ota_envpart} (e.g. /uboot.env on
#                the FAT boot partition) that holds it instead: imported at
#                the start, written back with env export -c + fatwrite (for a
#                U-Boot built without ENV_IS_IN_FAT, or whose own storage
#                Linux cannot reach). libubootenv reads and writes the same
#                file (fw_env.config: "/boot/uboot.env 0x0 0x40000"). Only
#   ota_envvars  (default: BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
#                OTA_SECURITY_COUNTER) are written to it, so the board
#                settings above keep coming from the default environment;
#   ota_envsize  its size (default 0x40000), ota_envaddr a scratch address
#                (default ${kernel_addr_r}).
# The kernel gets root=${ota_root_X} ota.slot=X, which ota-agent reads.
# docs/linux.md explains the whole cycle. Keep single quotes out of this
# file: one inside a double-quoted string makes U-Boot hush stop with
# "syntax error" (ctest linux.qemu_uboot_script runs it in real U-Boot).

if test -n "${ota_envfile}"; then
  test -n "${ota_envpart}" || setenv ota_envpart 1
  test -n "${ota_envsize}" || setenv ota_envsize 0x40000
  test -n "${ota_envaddr}" || setenv ota_envaddr ${kernel_addr_r}
  test -n "${ota_envvars}" || setenv ota_envvars "BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT OTA_SECURITY_COUNTER"
  if load ${ota_dev}:${ota_envpart} ${ota_envaddr} ${ota_envfile}; then
    env import -c ${ota_envaddr} ${filesize} || echo "ota: ${ota_envfile} does not import (bad CRC): defaults"
  fi
  setenv ota_save "env export -c -s ${ota_envsize} ${ota_envaddr} ${ota_envvars}; fatwrite ${ota_dev}:${ota_envpart} ${ota_envaddr} ${ota_envfile} ${ota_envsize}"
else
  setenv ota_save saveenv
fi
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3
test -n "${ota_boot}" || setenv ota_boot booti

setenv ota_slot
for BOOT_SLOT in "${BOOT_ORDER}"; do
  if test "x${ota_slot}" != "x"; then
    # a slot is chosen: skip the rest
  elif test "x${BOOT_SLOT}" = "xA"; then
    if test 0x${BOOT_A_LEFT} -gt 0; then
      setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
      echo "ota: slot A, ${BOOT_A_LEFT} more boots left"
      setenv ota_slot A
      setenv ota_part ${ota_part_a}
      setenv ota_root ${ota_root_a}
    fi
  elif test "x${BOOT_SLOT}" = "xB"; then
    if test 0x${BOOT_B_LEFT} -gt 0; then
      setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
      echo "ota: slot B, ${BOOT_B_LEFT} more boots left"
      setenv ota_slot B
      setenv ota_part ${ota_part_b}
      setenv ota_root ${ota_root_b}
    fi
  fi
done

if test -n "${ota_slot}"; then
  run ota_save
else
  echo "ota: no slot has boots left: resetting both to 3 (as the RAUC example does)"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  run ota_save
  reset
fi

setenv bootargs "root=${ota_root} ota.slot=${ota_slot} ${ota_cmdline}"
load ${ota_dev}:${ota_part} ${kernel_addr_r} ${ota_kernel}
if test -n "${ota_initrd}"; then
  load ${ota_dev}:${ota_part} ${ramdisk_addr_r} ${ota_initrd}
  ${ota_boot} ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
  ${ota_boot} ${kernel_addr_r} - ${fdtcontroladdr}
fi
echo "ota: slot ${ota_slot} did not boot; resetting"
reset
