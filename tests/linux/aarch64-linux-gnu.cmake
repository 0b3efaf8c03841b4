# SPDX-License-Identifier: Apache-2.0
# CMake toolchain file: ota built for arm64 Linux with Debian's cross
# compiler (gcc-aarch64-linux-gnu) against the arm64 -dev packages installed
# through dpkg multiarch (scripts/setup.sh). Used by tests/linux/cross.py to
# build the ota-agent that runs inside the arm64 U-Boot test VM.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
# pkg-config answers for the arm64 libraries, not the host's
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
