# SPDX-License-Identifier: Apache-2.0
# tests/linux/uboot-disk.cmd - board settings of the arm64 test disk for the
# shipped dist/linux/boot.cmd (what a product puts in the default
# environment of U-Boot; the prebuilt Debian u-boot-qemu cannot have them):
# mkdisk.py compiles this file followed by boot.cmd into /boot.scr on the
# FAT boot partition, which the distro boot of U-Boot finds and sources. The A/B
# state lives in /uboot.env on the same partition (ota_envfile), which the
# ota-agent of the guest writes through libubootenv (docs/linux.md, "The QEMU
# test VM"). Keep single quotes out (see boot.cmd).
setenv ota_dev "virtio 0"
setenv ota_part_a 2
setenv ota_part_b 3
setenv ota_root_a /dev/vda2
setenv ota_root_b /dev/vda3
setenv ota_kernel /boot/Image.gz
# booti decompresses a gzip Image through this scratch area (above the
# initramfs at ramdisk_addr_r, below U-Boot at the top of 512 MiB)
setenv kernel_comp_addr_r 0x48000000
setenv kernel_comp_size 0x2000000
setenv ota_initrd /boot/initrd.img
setenv ota_cmdline "console=ttyAMA0 panic=1"
setenv ota_envfile /uboot.env
setenv ota_envpart 1
