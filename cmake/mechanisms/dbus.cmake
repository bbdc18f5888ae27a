# D-Bus (mechanisms/dbus.cpp): libdbus-1, the reference implementation, for dbus (through a
# private dbus-daemon the channel starts) and dbus_p2p (a direct connection, no daemon).
find_package(PkgConfig REQUIRED)
pkg_check_modules(DBUS REQUIRED IMPORTED_TARGET dbus-1)
target_link_libraries(ipcbench_mechanisms PRIVATE PkgConfig::DBUS)
target_link_libraries(ipcbench_core PUBLIC PkgConfig::DBUS)
