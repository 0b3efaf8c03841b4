# SPDX-License-Identifier: Apache-2.0
# package.find_package: a project outside the tree (tests/package/consumer)
# finds the installed ota with find_package(ota), links ota::core and
# ota::crypto_openssl (shared and static), and verifies a signed image.
import os
import shlex

from conftest import CC, EXTRA_FLAGS, HERE, check_verifier, run


def test_find_package_consumer(prefix, signed, tmp_path):
    build = tmp_path / "build"
    run(["cmake", "-S", str(HERE / "consumer"), "-B", str(build),
         f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_C_COMPILER={CC}",
         f"-DCMAKE_C_FLAGS={EXTRA_FLAGS}", f"-DCMAKE_EXE_LINKER_FLAGS={EXTRA_FLAGS}"])
    run(["cmake", "--build", str(build)])
    # the shared build finds libota-core.so.0 in the prefix through its RUNPATH
    check_verifier(build / "verify_image_shared", signed)
    check_verifier(build / "verify_image_static", signed)


def test_pkg_config_consumer(prefix, signed, tmp_path):
    libdir = next(prefix.glob("lib*/**/libota-core.a")).parent
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "ota-crypto-openssl"],
                env=env).stdout.split()
    exe = tmp_path / "verify_image"
    run([CC, "-std=c11", *shlex.split(EXTRA_FLAGS), str(HERE / "consumer/verify_image.c"),
         "-o", str(exe), *flags])
    check_verifier(exe, signed, env=dict(os.environ, LD_LIBRARY_PATH=str(libdir)))
    static_flags = run(["pkg-config", "--static", "--cflags", "--libs", "ota-crypto-openssl"],
                       env=env).stdout.split()
    exe_static = tmp_path / "verify_image_static"
    run([CC, "-std=c11", *shlex.split(EXTRA_FLAGS), str(HERE / "consumer/verify_image.c"),
         "-o", str(exe_static), "-Wl,-Bstatic",
         *[f for f in static_flags if f.startswith("-lota")], "-Wl,-Bdynamic",
         *[f for f in static_flags if not f.startswith("-lota")]])
    check_verifier(exe_static, signed)
