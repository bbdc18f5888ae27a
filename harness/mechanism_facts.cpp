#include "harness/mechanism_facts.hpp"

#include <string>

#include "harness/channel.hpp"
#include "harness/registry.hpp"

namespace ipcbench {

nlohmann::json mechanisms_context() {
  nlohmann::json out = nlohmann::json::object();
  for (const Mechanism* m : mechanisms()) {
    nlohmann::json waits = nlohmann::json::array();
    for (WaitMode w : kWaitModes) {
      if (m->supports(w)) waits.push_back(std::string(to_string(w)));
    }
    out[std::string(m->name)] = {
        {"order", m->order},
        {"family", std::string(m->family)},
        {"transport", std::string(m->transport)},
        {"may_lose", m->may_lose},
        {"zero_copy", m->zero_copy},
        {"broadcast", m->broadcast},
        {"many_writers", m->many_writers},
        {"many_readers", m->many_readers},
        {"uses_backing", m->uses_backing},
        {"pingpong", m->pingpong},
        {"stream", m->stream},
        {"waits", waits},
    };
  }
  return out;
}

}  // namespace ipcbench
