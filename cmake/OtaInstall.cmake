# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` lays out beyond the programs (which each component's
# CMakeLists.txt installs): the core's public headers, the CMake package
# (find_package(ota) -> ota::core ...), pkg-config files, and the system
# files from dist/ (systemd units, sysusers/tmpfiles, example configs).
include(CMakePackageConfigHelpers)

# The device core's public headers. Host-only headers (host.h, image_build.h,
# manifest_sign.h, sim.h) describe libraries that are not installed.
install(FILES
        ${CMAKE_SOURCE_DIR}/include/ota/boot.h ${CMAKE_SOURCE_DIR}/include/ota/crypto.h
        ${CMAKE_SOURCE_DIR}/include/ota/deflate.h ${CMAKE_SOURCE_DIR}/include/ota/dtok.h
        ${CMAKE_SOURCE_DIR}/include/ota/delta.h ${CMAKE_SOURCE_DIR}/include/ota/error.h
        ${CMAKE_SOURCE_DIR}/include/ota/flash.h ${CMAKE_SOURCE_DIR}/include/ota/image.h
        ${CMAKE_SOURCE_DIR}/include/ota/image_enc.h
        ${CMAKE_SOURCE_DIR}/include/ota/io.h ${CMAKE_SOURCE_DIR}/include/ota/manifest.h
        ${CMAKE_SOURCE_DIR}/include/ota/update.h ${CMAKE_BINARY_DIR}/include/ota/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ota)

# CMake package: <libdir>/cmake/ota/otaConfig.cmake.
set(OTA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ota)
install(EXPORT ota-targets NAMESPACE ota:: FILE ota-targets.cmake DESTINATION ${OTA_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/otaConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/otaConfig.cmake
                              INSTALL_DESTINATION ${OTA_CMAKE_DIR})
# 0.x: a minor release may change the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/otaConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/otaConfig.cmake ${CMAKE_BINARY_DIR}/otaConfigVersion.cmake
        DESTINATION ${OTA_CMAKE_DIR})

# pkg-config: relocatable (prefix found from the .pc file's own place), so
# the files stay right under --prefix, DESTDIR and in the .deb.
set(OTA_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH OTA_PC_TO_PREFIX /${OTA_PKGCONFIG_DIR} /)
string(REGEX REPLACE "/$" "" OTA_PC_TO_PREFIX "${OTA_PC_TO_PREFIX}")
foreach(pc ota-core ota-crypto-openssl ota-crypto-mbedtls)
  configure_file(${CMAKE_SOURCE_DIR}/cmake/${pc}.pc.in ${CMAKE_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/${pc}.pc DESTINATION ${OTA_PKGCONFIG_DIR})
endforeach()

# systemd units, sysusers.d/tmpfiles.d entries and example configurations:
# written at install time (cmake/OtaInstallSystemFiles.cmake), when the
# real prefix is known (--prefix, CPack's /usr), so ExecStart names the
# installed binary and a /usr install puts its configuration in /etc.
install(CODE "set(OTA_DIST_DIR \"${CMAKE_SOURCE_DIR}/dist\")
set(OTA_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
set(OTA_BUILD_DIR \"${CMAKE_BINARY_DIR}\")
set(OTA_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(OTA_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/OtaInstallSystemFiles.cmake)
