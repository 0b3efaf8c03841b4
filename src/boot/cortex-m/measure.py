#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
measure.py - the Cortex-M port's figures for docs/benchmarks.md, measured:

  * code size of each part of the linked bootloader (boot.elf), from the
    linker map: what each ota core file, the crypto port, each mbedTLS file,
    the board port and libc contribute after --gc-sections (-Os, Cortex-M3);
  * stack: the bootloader's painted-stack high-water in QEMU, and the largest
    frames from gcc -fstack-usage (there is no heap: p256-m works on the
    stack);
  * boot time in QEMU with -icount shift=0 (1 ns of virtual time per
    instruction; the 25 MHz timer ticks every 40 instructions): a whole
    boot, a trial boot, and the parts (SHA-256 of 64 KiB, one ECDSA P-256
    verification, ota_image_verify of the app image, stage 0).

Usage: measure.py ARM_BUILD OTA MCU_FLASH   (after build.sh ARM_BUILD; OTA
and MCU_FLASH are the host build's ota and ota-mcu-flash). Prints markdown.
"""
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

INSN_PER_TICK = 40  # 1e9 instructions/s (icount shift=0) / 25 MHz timer


def run(*args, check=True):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        sys.exit(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout.replace("\r", "")


def qemu(kernel, flash):
    here = os.path.dirname(os.path.abspath(__file__))
    return run(os.path.join(here, "run.sh"), os.path.dirname(kernel), flash, kernel, check=False)


def group(obj):
    m = re.search(r"lib(\w+)\.a\(([^)]+)\)", obj)
    if not m:
        return ("port", os.path.basename(obj).replace(".obj", ""))
    lib, member = m.group(1), m.group(2).replace(".obj", "")
    return {"ota_core": "ota core", "mbedtls_subset": "mbedTLS",
            "ota_crypto_port": "crypto port", "ota_port": "port"}.get(lib, "libc/libgcc"), member


def map_sizes(path):
    """{(group, file): [text, data, bss]} of the sections kept in the link."""
    sizes = collections.defaultdict(lambda: [0, 0, 0])
    kinds = {".isr_vector": 0, ".text": 0, ".ARM.exidx": 0, ".data": 1, ".bss": 2}
    out_sec, pending = None, None
    started = False
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("Linker script and memory map"):
            started = True
            continue
        if not started:
            continue
        m = re.match(r"^(\.\S+)", line)
        if m:
            out_sec = m.group(1)
            continue
        if out_sec not in kinds:
            continue
        m = re.match(r"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if not m and pending:
            m2 = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m2:
                sizes[group(m2.group(3))][kinds[out_sec]] += int(m2.group(2), 16)
            pending = None
            continue
        if m:
            sizes[group(m.group(4))][kinds[out_sec]] += int(m.group(3), 16)
            continue
        pending = re.match(r"^ (\.\S+|COMMON)$", line)
    return sizes


def table_sizes(sizes):
    rows = ["| part | file | .text | .data | .bss |", "|---|---|---:|---:|---:|"]
    totals = collections.defaultdict(lambda: [0, 0, 0])
    order = ["ota core", "crypto port", "mbedTLS", "port", "libc/libgcc"]
    for (g, f), v in sorted(sizes.items(), key=lambda kv: (order.index(kv[0][0]), -kv[1][0])):
        if g == "port" and f.startswith("boot_main"):
            f = "boot_main.c"
        rows.append(f"| {g} | {f} | {v[0]} | {v[1]} | {v[2]} |")
        for i in range(3):
            totals[g][i] += v[i]
    rows.append("")
    rows.append("| part | .text | .data | .bss |")
    rows.append("|---|---:|---:|---:|")
    for g in order:
        t = totals[g]
        rows.append(f"| {g} | {t[0]} | {t[1]} | {t[2]} |")
    allt = [sum(t[i] for t in totals.values()) for i in range(3)]
    rows.append(f"| **bootloader (boot.elf)** | **{allt[0]}** | **{allt[1]}** | **{allt[2]}** |")
    return rows


def core_objects(build):
    """arm-none-eabi-size of every src/core object (before the link drops
    unused functions): the bootloader's parts and the device-side update
    code (delta applier, update engine, manifest) alike."""
    objs = sorted(glob.glob(os.path.join(build, "CMakeFiles", "ota_core.dir", "**", "*.obj"),
                            recursive=True))
    rows = ["| src/core object | .text | .data | .bss |", "|---|---:|---:|---:|"]
    total = [0, 0, 0]
    for line in run("arm-none-eabi-size", *objs).splitlines()[1:]:
        f = line.split()
        name = os.path.basename(f[5]).replace(".obj", "")
        rows.append(f"| {name} | {f[0]} | {f[1]} | {f[2]} |")
        for i in range(3):
            total[i] += int(f[i])
    rows.append(f"| **all** | **{total[0]}** | **{total[1]}** | **{total[2]}** |")
    return rows


def stack_frames(build):
    frames = []
    for su in glob.glob(os.path.join(build, "CMakeFiles", "**", "*.su"), recursive=True):
        for line in open(su):
            loc, size, kind = line.rstrip("\n").split("\t")
            frames.append((int(size), loc.split(":")[-1], os.path.basename(su)[:-3], kind))
    frames.sort(reverse=True)
    want = ("ota_boot", "ota_image_verify", "ota_boot_confirm", "ota_boot_state_write",
            "ota_boot_state_read", "ota_boot_stage0", "ota_boot_config_read",
            "p256_ecdsa_verify", "scalar_mult", "point_add", "mbedtls_sha256_update",
            "mcu_p256_verify")
    seen = {}
    for size, fn, f, kind in frames:
        if fn in want and fn not in seen:
            seen[fn] = (size, f, kind)
    return seen


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    build, ota, mcu_flash = sys.argv[1:]
    work = tempfile.mkdtemp(prefix="ota-measure-")
    try:
        measure(build, ota, mcu_flash, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(build, ota, mcu_flash, work):
    key, pub = os.path.join(work, "k.pem"), os.path.join(work, "p.pem")
    run(ota, "keygen", "-o", key)
    run(ota, "pubkey", key, "-o", pub)
    a1, b2 = os.path.join(work, "a1.img"), os.path.join(work, "b2.img")
    for app, ver, cnt, out in (("a-1.0.0-confirm", "1.0.0", 1, a1),
                               ("b-2.0.0-confirm", "2.0.0", 2, b2)):
        run(ota, "sign", "-q", "-k", key, "-v", ver, "-s", cnt, "--hw-id", "mps2-an385",
            "-H", "0x200", os.path.join(build, f"app-{app}.bin"), out)
    flash = os.path.join(work, "flash.bin")
    run(mcu_flash, "create", flash, "--bootloader", os.path.join(build, "boot.bin"),
        "--key", pub, "--hw-id", "mps2-an385")
    run(mcu_flash, "install", flash, a1, "--permanent")

    bench = qemu(os.path.join(build, "bench.elf"), flash)
    b = {m.group(1): int(m.group(2)) for m in re.finditer(r"bench: (\w+) (\d+) ticks OTA_OK", bench)}
    img = int(re.search(r"image_bytes (\d+)", bench).group(1))
    if len(b) != 5:
        sys.exit("bench failed:\n" + bench)
    boot1 = qemu(os.path.join(build, "rom.elf"), flash)
    run(mcu_flash, "install", flash, b2)
    boot2 = qemu(os.path.join(build, "rom.elf"), flash)

    def stats(out):
        m = re.search(r"stack high-water (\d+) of \d+ bytes, "
                      r"flash (\d+) programs (\d+) erases, (\d+) timer ticks", out)
        if not m:
            sys.exit("boot failed:\n" + out)
        return [int(x) for x in m.groups()]
    s1, s2 = stats(boot1), stats(boot2)

    print("#### Code size (bytes; `arm-none-eabi-gcc 12.2 -Os -mcpu=cortex-m3 -mthumb`, "
          "`--gc-sections`; what is linked into boot.elf)\n")
    print("\n".join(table_sizes(map_sizes(os.path.join(build, "boot.map")))))
    print("\n(.bss includes the 1 KiB hash buffer; the 16 KiB stack "
          "reserve is not counted.)\n")
    print("\n".join(core_objects(build)))
    print()
    print("#### RAM and time of one boot (QEMU mps2-an385, `-icount shift=0`)\n")
    print("| boot | stack high-water | flash programs / erases "
          "| ticks (25 MHz) | ≈ instructions |")
    print("|---|---:|---:|---:|---:|")
    for name, s in (("confirmed slot A (ROM stage 0 + ota_boot)", s1),
                    ("pending slot B on trial (+ attempt record)", s2)):
        print(f"| {name} | {s[0]} B | {s[1]} / {s[2]} | {s[3]} | "
              f"{s[3] * INSN_PER_TICK / 1e6:.1f} M |")
    cal = b["calibration_20M_insns"]
    print(f"\nCalibration: a loop of exactly 20,000,000 instructions reads {cal} ticks "
          f"({20e6 / cal:.2f} instructions per tick).")
    print("\n| part | ticks | ≈ instructions |")
    print("|---|---:|---:|")
    for k, label in (("sha256_64k", "SHA-256 of the 64 KiB bootloader region"),
                     ("stage0", "ota_boot_stage0 (config block + the same hash + compare)"),
                     ("p256_verify", "one ECDSA P-256 verification (p256-m from mbedTLS 3.6)"),
                     ("image_verify", f"ota_image_verify of the {img}-byte signed app image")):
        print(f"| {label} | {b[k]} | {b[k] * INSN_PER_TICK / 1e6:.2f} M |")
    print("\n#### Largest stack frames (gcc -fstack-usage)\n")
    print("| function | file | bytes |")
    print("|---|---|---:|")
    for fn, (size, f, kind) in sorted(stack_frames(build).items(), key=lambda kv: -kv[1][0]):
        print(f"| {fn} | {f} | {size} ({kind}) |")


if __name__ == "__main__":
    main()
