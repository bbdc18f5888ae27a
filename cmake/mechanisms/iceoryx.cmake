# Eclipse iceoryx 2.0 (mechanisms/iceoryx.cpp): the posh library from
# libiceoryx-posh-dev, found through its CMake package (iceoryx_posh::iceoryx_posh
# brings iceoryx_hoofs). The RouDi daemon (iox-roudi, package iceoryx) is found at
# run time: without it the mechanism is not runnable, the build does not need it.
find_package(iceoryx_posh CONFIG REQUIRED)
target_link_libraries(ipcbench_mechanisms PRIVATE iceoryx_posh::iceoryx_posh)
target_link_libraries(ipcbench_core PUBLIC iceoryx_posh::iceoryx_posh)
