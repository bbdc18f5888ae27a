#pragma once
// x_transport: what a mechanism costs over the mechanism it rides on
// (Mechanism::transport: zmq_ipc over unix_stream, grpc_tcp over tcp), both measured in
// the same run.
#include <nlohmann/json.hpp>

namespace ipcbench {

// The finish_json post-pass that sets `x_transport` on every case of a mechanism with a
// transport (context.mechanisms[m].transport) whose transport ran the same case: same
// pattern, size, capacity and wait mode. Like x_floor, a cost: lower is better, 1 is
// "costs nothing over its transport".
//   pingpong  p50_ns / the transport's p50_ns
//   stream    the transport's bytes_per_s / bytes_per_s
// Each repetition is divided by the median of the transport's repetitions (a repetition
// has no partner of its own: the pairs are independent), and the case's aggregates
// (mean, median, stddev, cv) follow from the repetitions, as Google Benchmark's would.
// A case whose transport did not run, or failed, gets none.
void derive_transport_ratios(nlohmann::json& doc);

}  // namespace ipcbench
