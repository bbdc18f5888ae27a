#pragma once
// Case names, as bench/suite.cpp builds them and every reader of results parses them:
// "pattern/mechanism/size:N/capacity:N/wait:W" (and "/rate:N" for rate cases), in
// Google Benchmark's key:value argument style.
#include <string>
#include <string_view>

namespace ipcbench {

// The value after "/key:" in a case name ("size" -> "64"), or "" when it has none.
inline std::string case_field(std::string_view name, std::string_view key) {
  const std::string tag = "/" + std::string(key) + ":";
  const std::size_t at = name.find(tag);
  if (at == std::string_view::npos) return "";
  const std::size_t from = at + tag.size();
  return std::string(name.substr(from, name.find('/', from) - from));
}

}  // namespace ipcbench
