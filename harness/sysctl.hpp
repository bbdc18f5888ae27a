#pragma once
// Kernel limits read from /proc/sys, for the messages that name a limit and its value.
#include <cstdint>

namespace ipcbench {

// A number from /proc/sys (a kernel limit), or `if_unreadable` when the file is missing
// or holds no number: callers say what an unknown limit means (0: report nothing;
// UINT64_MAX: let the kernel's own call decide).
std::uint64_t read_sysctl(const char* path, std::uint64_t if_unreadable = 0);

}  // namespace ipcbench
