#pragma once
// Each mechanism's facts, as the registry holds them, for a results file's context:
// the readers (plots/results.py) take lossiness, zero-copy, family and order from the
// file instead of keeping lists of their own that drift from the registry.
#include <nlohmann/json.hpp>

namespace ipcbench {

// context.mechanisms: an object keyed by mechanism name, every registered mechanism,
// each {"order", "family", "transport", "may_lose", "zero_copy", "uses_backing",
// "pingpong", "stream", "waits": [wait modes, in kWaitModes order]}.
nlohmann::json mechanisms_context();

}  // namespace ipcbench
