#pragma once
// The list of mechanisms. Adding one: write mechanisms/<name>.cpp defining a
// `const Mechanism k<Name>`, and add one line to the table in registry.cpp.
#include <span>
#include <string_view>

#include "harness/channel.hpp"

namespace ipcbench {

std::span<const Mechanism* const> mechanisms();
// nullptr when no mechanism has that name.
const Mechanism* find_mechanism(std::string_view name);

}  // namespace ipcbench
