#include "bench/list_cmd.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bench/cli_util.hpp"
#include "harness/error.hpp"
#include "harness/registry.hpp"

namespace ipcbench {

const char* const kListHelp = R"(usage: ipcbench list [options]

Lists each registered mechanism with the mechanism it rides on (its transport,
which x_transport divides by), the patterns and wait modes it supports and how
a case's capacity maps onto its own knob.

options:
  --json               print a JSON array of objects with keys name, family,
                       transport, patterns, wait_modes, broadcast (fanout
                       over one channel), many_writers (fanin),
                       many_readers (compete), capacity_knob and summary
  -h, --help           this help

examples:
  ipcbench list
  ipcbench list --json | jq -r '.[].name'
)";

namespace {

nlohmann::json describe_all() {
  nlohmann::json all = nlohmann::json::array();
  for (const Mechanism* m : mechanisms()) {
    nlohmann::json patterns = nlohmann::json::array(), waits = nlohmann::json::array();
    for (Pattern p : {Pattern::pingpong, Pattern::stream, Pattern::rate, Pattern::fanout,
                      Pattern::fanin, Pattern::compete}) {
      if (m->supports(p)) patterns.push_back(to_string(p));
    }
    for (WaitMode w : kWaitModes) {
      if (m->supports(w)) waits.push_back(to_string(w));
    }
    all.push_back({{"name", m->name},
                   {"family", m->family},
                   {"transport", m->transport},
                   {"patterns", patterns},
                   {"wait_modes", waits},
                   {"broadcast", m->broadcast},
                   {"many_writers", m->many_writers},
                   {"many_readers", m->many_readers},
                   {"capacity_knob", m->capacity_knob},
                   {"summary", m->summary}});
  }
  return all;
}

std::string join(const nlohmann::json& a) {
  std::string s;
  for (const auto& x : a) s += (s.empty() ? "" : ",") + x.get<std::string>();
  return s;
}

// "pingpong,stream,rate,fanout*,fanin": the star marks a fan-out over one broadcast
// channel.
std::string patterns_cell(const nlohmann::json& m) {
  std::string s = join(m["patterns"]);
  if (m["broadcast"].get<bool>()) {
    if (const std::size_t at = s.find("fanout"); at != std::string::npos) s.insert(at + 6, "*");
  }
  return s;
}

void print_table(const nlohmann::json& all) {
  int name_width = static_cast<int>(std::string_view("mechanism").size());
  int waits_width = static_cast<int>(std::string_view("wait modes").size());
  int patterns_width = static_cast<int>(std::string_view("patterns").size());
  for (const auto& m : all) {
    name_width = std::max(name_width, static_cast<int>(m["name"].get<std::string>().size()));
    waits_width = std::max(waits_width, static_cast<int>(join(m["wait_modes"]).size()));
    patterns_width = std::max(patterns_width, static_cast<int>(patterns_cell(m).size()));
  }
  std::printf("%-*s %-*s %-*s %-*s %s\n", name_width, "mechanism", name_width, "rides on",
              patterns_width, "patterns", waits_width, "wait modes", "capacity knob");
  for (const auto& m : all) {
    const std::string transport = m["transport"].get<std::string>();
    std::printf("%-*s %-*s %-*s %-*s %s\n", name_width, m["name"].get<std::string>().c_str(),
                name_width, transport.empty() ? "-" : transport.c_str(), patterns_width,
                patterns_cell(m).c_str(), waits_width, join(m["wait_modes"]).c_str(),
                m["capacity_knob"].get<std::string>().c_str());
  }
  std::printf(
      "\nfanout*: one broadcast channel for every consumer; any other fanout sends a copy "
      "down one channel per consumer. fanin: several producers share one channel.\n"
      "compete: several consumers share one channel, each message going to one of them.\n");
}

}  // namespace

int cmd_list(cli::Args& args) {
  bool json = false;
  while (!args.done()) {
    const std::string_view opt = args.option();
    if (opt == "--help") {
      args.flag();
      std::cout << kListHelp;
      return 0;
    }
    if (opt != "--json") unknown_option("list", opt, kListHelp);
    args.flag();
    json = true;
  }
  const nlohmann::json all = describe_all();
  if (json) {
    std::cout << all.dump(2) << "\n";
  } else {
    print_table(all);
  }
  return 0;
}

}  // namespace ipcbench
