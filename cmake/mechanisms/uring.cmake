# io_uring (mechanisms/uring.cpp: uring_unix, uring_unix_sqpoll): liburing 2.3 from
# liburing-dev, found through pkg-config. The mechanisms' objects need its header;
# every program that links ipcbench_core (which carries those objects) needs the library.
find_package(PkgConfig REQUIRED)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing>=2.3)
target_link_libraries(ipcbench_mechanisms PRIVATE PkgConfig::URING)
target_link_libraries(ipcbench_core PUBLIC PkgConfig::URING)
