# SPDX-License-Identifier: Apache-2.0
# Install-time part of `cmake --install` (see cmake/OtaInstall.cmake): the
# systemd units with ExecStart naming the binary under the real install
# prefix, sysusers.d, and the example configurations in <sysconfdir>/ota —
# /etc for a /usr (or /) prefix as GNUInstallDirs does, else <prefix>/etc.
# An existing configuration file is never overwritten. DESTDIR is honoured
# (file(INSTALL) prepends it).
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
set(OTA_FULL_BINDIR "${prefix}/${OTA_BINDIR}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(confdir "/etc/ota")
else()
  set(confdir "${prefix}/${OTA_SYSCONFDIR}/ota")
endif()

# One staging directory per destination: installs may run concurrently.
string(MD5 dest_id "$ENV{DESTDIR}|${prefix}")
set(gen "${OTA_BUILD_DIR}/dist/${dest_id}")
file(MAKE_DIRECTORY "${gen}")
set(BINDIR "${OTA_FULL_BINDIR}")
set(CONFDIR "${confdir}")
foreach(unit ota-server.service ota-agent.service ota-agent-confirm.service)
  configure_file("${OTA_DIST_DIR}/${unit}.in" "${gen}/${unit}" @ONLY)
  file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE FILES "${gen}/${unit}")
endforeach()
# Linux A/B devices (docs/linux.md): the boot scripts and the agent's drop-in.
file(INSTALL DESTINATION "${prefix}/share/ota/linux" TYPE FILE
     FILES "${OTA_DIST_DIR}/linux/grub.cfg" "${OTA_DIST_DIR}/linux/boot.cmd"
           "${OTA_DIST_DIR}/linux/ota-agent-linux.conf")
file(INSTALL DESTINATION "${prefix}/lib/sysusers.d" TYPE FILE
     FILES "${OTA_DIST_DIR}/ota.sysusers" RENAME ota.conf)

# Example configurations: the agent's from dist/, the server's from etc/.
set(configs "${OTA_DIST_DIR}/agent.conf")
if(EXISTS "${OTA_SOURCE_DIR}/etc/server.conf")
  list(APPEND configs "${OTA_SOURCE_DIR}/etc/server.conf")
endif()
foreach(conf ${configs})
  get_filename_component(name "${conf}" NAME)
  if(EXISTS "$ENV{DESTDIR}${confdir}/${name}")
    message(STATUS "Keeping existing: $ENV{DESTDIR}${confdir}/${name}")
  else()
    file(INSTALL DESTINATION "${confdir}" TYPE FILE FILES "${conf}")
  endif()
endforeach()
