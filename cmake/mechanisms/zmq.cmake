# ZeroMQ (mechanisms/zmq.cpp: zmq_ipc, zmq_tcp): libzmq 4.3 from libzmq3-dev, found
# through pkg-config. The mechanisms' objects need its header; every program that
# links ipcbench_core (which carries those objects) needs the library.
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq>=4.3)
target_link_libraries(ipcbench_mechanisms PRIVATE PkgConfig::ZMQ)
target_link_libraries(ipcbench_core PUBLIC PkgConfig::ZMQ)
