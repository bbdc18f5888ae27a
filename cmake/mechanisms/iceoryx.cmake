# Eclipse iceoryx 2.0 (mechanisms/iceoryx.cpp): the posh library from
# libiceoryx-posh-dev, found through its CMake package (iceoryx_posh::iceoryx_posh
# brings iceoryx_hoofs). The RouDi daemon (iox-roudi, package iceoryx) is found at
# run time: without it the mechanism is not runnable, the build does not need it.
find_package(iceoryx_posh CONFIG REQUIRED)
target_link_libraries(ipcbench_mechanisms PRIVATE iceoryx_posh::iceoryx_posh)
target_link_libraries(ipcbench_core PUBLIC iceoryx_posh::iceoryx_posh)

# The preload that keeps what RouDi creates owner-only (mechanisms/iceoryx/
# owner_only_preload.cpp); the mechanism passes it to iox-roudi by its path here, and
# without it the mechanism is not runnable. Built without sanitizers: it is loaded into
# iox-roudi, which has no sanitizer runtime.
add_library(ipcbench_iox_owner_only MODULE ${CMAKE_SOURCE_DIR}/mechanisms/iceoryx/owner_only_preload.cpp)
target_compile_options(ipcbench_iox_owner_only PRIVATE -Wall -Wextra -Wpedantic -Werror)
target_compile_definitions(ipcbench_mechanisms PRIVATE
  IPCBENCH_IOX_OWNER_ONLY_SO="$<TARGET_FILE:ipcbench_iox_owner_only>")
add_dependencies(ipcbench_mechanisms ipcbench_iox_owner_only)
