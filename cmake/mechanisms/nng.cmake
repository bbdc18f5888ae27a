# nng (mechanisms/nng.cpp: nng_ipc): libnng 1.5 from libnng-dev, which ships a CMake
# package (nng-config.cmake, imported target nng::nng) and no pkg-config file. The
# mechanism's object needs its header; every program that links ipcbench_core (which
# carries that object) needs the library.
find_package(nng 1.5 CONFIG REQUIRED)
target_link_libraries(ipcbench_mechanisms PRIVATE nng::nng)
target_link_libraries(ipcbench_core PUBLIC nng::nng)
