# SPDX-License-Identifier: Apache-2.0
# The Debian package: `cpack -G DEB` in a build directory makes
# ota_<version>_<arch>.deb from what `cmake --install` lays out, under /usr
# with the configuration in /etc/ota. Depends come from dpkg-shlibdeps;
# the maintainer scripts (dist/debian/) create the 'ota' user with
# systemd-sysusers and enable and start ota-server.service.
set(OTA_PACKAGE_MAINTAINER "ota maintainers <ota@localhost>" CACHE STRING
    "Maintainer field of the Debian package (Name <email>)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ota)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${OTA_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "open end-to-end over-the-air firmware updates")
set(CPACK_PACKAGE_DESCRIPTION
    "ota takes a firmware from the build machine to devices, safely: signed images
(MCUboot format), delta patches, a server that rolls releases out in stages
and halts a bad one by itself, a device agent, a NOR flash simulator, and the
portable device core as a library (libota-core) with its crypto backends.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libota-crypto-*.so need libota-core.so.0 from this same package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    ${CMAKE_BINARY_DIR}/src/core)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Configuration files are conffiles: an upgrade never overwrites local edits.
set(OTA_CONFFILES "/etc/ota/agent.conf\n")
if(EXISTS ${CMAKE_SOURCE_DIR}/etc/server.conf)
  string(APPEND OTA_CONFFILES "/etc/ota/server.conf\n")
endif()
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${OTA_CONFFILES}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/dist/debian/postinst ${CMAKE_SOURCE_DIR}/dist/debian/prerm
    ${CMAKE_SOURCE_DIR}/dist/debian/postrm ${CMAKE_SOURCE_DIR}/dist/debian/triggers
    ${CMAKE_BINARY_DIR}/debian/conffiles)

include(CPack)
