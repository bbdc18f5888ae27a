#include "harness/registry.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "harness/capacity.hpp"

namespace ipcbench {
namespace {

// Constructed on first use: a mechanism's Registration may run before any other
// static object of this file is initialised.
std::vector<const Mechanism*>& registered() {
  static std::vector<const Mechanism*> list;
  return list;
}

bool sorts_before(const Mechanism* x, const Mechanism* y) {
  return std::tie(x->order, x->name) < std::tie(y->order, y->name);
}

}  // namespace

void register_mechanism(const Mechanism& m) {
  if (m.name.empty() || m.create == nullptr) {
    throw std::logic_error("a mechanism without a name or a create() was registered");
  }
  std::vector<const Mechanism*>& list = registered();
  if (find_mechanism(m.name) != nullptr) {
    throw std::logic_error("two mechanisms are named \"" + std::string(m.name) +
                           "\": each file in mechanisms/ needs a name of its own");
  }
  list.insert(std::upper_bound(list.begin(), list.end(), &m, sorts_before), &m);
}

std::span<const Mechanism* const> mechanisms() { return registered(); }

const Mechanism* find_mechanism(std::string_view name) {
  for (const Mechanism* m : registered()) {
    if (m->name == name) return m;
  }
  return nullptr;
}

std::unique_ptr<Channel> open_channel(const Mechanism& m, const ChannelConfig& cfg) {
  requested_channel_bytes(cfg);  // NotRunnable past the per-channel limit
  return m.create(cfg);
}

}  // namespace ipcbench
