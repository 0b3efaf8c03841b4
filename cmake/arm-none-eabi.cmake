# SPDX-License-Identifier: Apache-2.0
# CMake toolchain file for bare-metal ARM Cortex-M with Debian's
# gcc-arm-none-eabi + libnewlib-arm-none-eabi. Used by ota's MCU ports
# (src/boot/cortex-m): cmake -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake.
# OTA_ARM_CPU selects the core (default cortex-m3, what QEMU's mps2-an385 has).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "objcopy")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "size")

# Compiler checks cannot link a program without startup code and a linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(OTA_ARM_CPU "cortex-m3" CACHE STRING "-mcpu for the target")
set(CMAKE_C_FLAGS_INIT "-mcpu=${OTA_ARM_CPU} -mthumb")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-mcpu=${OTA_ARM_CPU} -mthumb")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
