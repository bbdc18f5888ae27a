#include "harness/topology.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness/environment.hpp"

namespace ipcbench {

namespace {

constexpr std::array<std::string_view, 5> kPlacementNames = {"same_cpu", "smt_sibling", "same_l3",
                                                             "cross_l3", "cross_numa"};
// More CPUs than any list names: a bound on garbage such as "0-4000000000".
constexpr int kMaxCpu = 1 << 16;

// The first line of a file, without surrounding blanks; "" when unreadable.
std::string read_value(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

std::optional<int> parse_int(std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0 || v > kMaxCpu) {
    return std::nullopt;
  }
  return v;
}

// A canonical key for a CPU list ("0-1" and "0,1" are one set); "" when unparsable or empty.
std::string list_key(const std::string& text) {
  const auto cpus = parse_cpu_list(text);
  if (!cpus || cpus->empty()) return "";
  std::string key;
  for (int c : *cpus) key += std::to_string(c) + ",";
  return key;
}

// Gives equal keys equal small indices, in order of first appearance.
struct Indexer {
  std::map<std::string, int> ids;
  int operator()(const std::string& key) {
    return ids.emplace(key, static_cast<int>(ids.size())).first->second;
  }
};

// The core's key: its thread siblings, else core_id in its package, else the CPU alone.
std::string core_key(const std::string& topo, int cpu, int package, bool& assumed) {
  if (std::string k = list_key(read_value(topo + "/thread_siblings_list")); !k.empty()) return k;
  assumed = true;
  if (const auto id = parse_int(read_value(topo + "/core_id"))) {
    return "p" + std::to_string(package) + "c" + std::to_string(*id);
  }
  return "cpu" + std::to_string(cpu);
}

// The L3's key from cache/index*/ (level 3): its shared CPUs, else its id in the
// package; "" when the CPU shows no level-3 cache.
std::string l3_key(const std::string& cpu_dir, int package) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cpu_dir + "/cache", ec)) {
    const std::string index = entry.path().string();
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    if (read_value(index + "/level") != "3") continue;
    if (std::string k = list_key(read_value(index + "/shared_cpu_list")); !k.empty()) return k;
    if (const auto id = parse_int(read_value(index + "/id"))) {
      return "p" + std::to_string(package) + "id" + std::to_string(*id);
    }
  }
  return "";
}

// CPU -> NUMA node from node<N>/cpulist.
std::map<int, int> numa_nodes(const std::string& node_root) {
  std::map<int, int> node_of;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(node_root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("node", 0) != 0) continue;
    const auto node = parse_int(std::string_view(name).substr(4));
    const auto cpus = parse_cpu_list(read_value(entry.path().string() + "/cpulist"));
    if (!node || !cpus) continue;
    for (int c : *cpus) node_of.emplace(c, *node);
  }
  return node_of;
}

// The nearest placement two CPUs of the topology form.
Placement relation(const Topology& t, const CpuTopology& a, const CpuTopology& b) {
  if (a.cpu == b.cpu) return Placement::same_cpu;
  if (a.core == b.core) return Placement::smt_sibling;
  if (a.l3 == b.l3) return Placement::same_l3;
  const bool one_domain = t.numa_known ? a.node == b.node : a.package == b.package;
  return one_domain ? Placement::cross_l3 : Placement::cross_numa;
}

void note_assumptions(Topology& t, bool core_assumed, bool package_assumed) {
  if (core_assumed) {
    t.notes.push_back(
        "no thread_siblings_list for some CPUs: cores taken from core_id (else one CPU per "
        "core, no SMT)");
  }
  if (package_assumed)
    t.notes.push_back("no physical_package_id for some CPUs: one package assumed");
  if (!t.l3_known) {
    t.notes.push_back(
        "no level-3 cache information for some CPUs: one L3 per package assumed (same_l3 "
        "offered on that assumption, cross_l3 not)");
  }
  if (!t.numa_known) {
    t.notes.push_back(
        "no NUMA node information: cross_l3 kept within a package, cross_numa taken as "
        "different packages");
  }
}

}  // namespace

std::string_view to_string(Placement p) { return kPlacementNames[static_cast<std::size_t>(p)]; }

std::optional<Placement> parse_placement(std::string_view name) {
  for (Placement p : kPlacements) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

std::string placement_names() {
  std::string names;
  for (Placement p : kPlacements) names += (names.empty() ? "" : ", ") + std::string(to_string(p));
  return names;
}

std::optional<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::set<int> cpus;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t dash = item.find('-');
    const auto lo = parse_int(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : parse_int(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo) return std::nullopt;
    for (int c = *lo; c <= *hi; ++c) cpus.insert(c);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;  // a trailing comma
  }
  return std::vector<int>(cpus.begin(), cpus.end());
}

Topology read_topology(const std::vector<int>& allowed, const TopologyRoots& roots) {
  Topology t;
  const std::map<int, int> node_of = numa_nodes(roots.node);
  Indexer cores, l3s;
  std::vector<std::string> l3_keys;
  bool core_assumed = false, package_assumed = false;
  t.l3_known = t.numa_known = !allowed.empty();
  for (int cpu : std::set<int>(allowed.begin(), allowed.end())) {
    const std::string dir = roots.cpu + "/cpu" + std::to_string(cpu);
    CpuTopology c{.cpu = cpu};
    const auto package = parse_int(read_value(dir + "/topology/physical_package_id"));
    package_assumed |= !package;
    c.package = package.value_or(0);
    c.core = cores(core_key(dir + "/topology", cpu, c.package, core_assumed));
    l3_keys.push_back(l3_key(dir, c.package));
    t.l3_known &= !l3_keys.back().empty();
    const auto node = node_of.find(cpu);
    c.node = node != node_of.end() ? node->second : -1;
    t.numa_known &= c.node >= 0;
    t.cpus.push_back(c);
  }
  // Keys of one kind only: a CPU with an L3 and one without cannot be compared.
  for (std::size_t i = 0; i < t.cpus.size(); ++i) {
    t.cpus[i].l3 = l3s(t.l3_known ? l3_keys[i] : "package" + std::to_string(t.cpus[i].package));
  }
  note_assumptions(t, core_assumed, package_assumed);
  return t;
}

Topology read_topology() { return read_topology(allowed_cpus()); }

std::optional<std::array<int, 2>> placement_cpus(const Topology& t, Placement p) {
  if (p == Placement::same_cpu) {
    if (t.cpus.empty()) return std::nullopt;
    return std::array<int, 2>{t.cpus[0].cpu, t.cpus[0].cpu};
  }
  for (std::size_t i = 0; i < t.cpus.size(); ++i) {
    for (std::size_t j = i + 1; j < t.cpus.size(); ++j) {
      if (relation(t, t.cpus[i], t.cpus[j]) == p)
        return std::array<int, 2>{t.cpus[i].cpu, t.cpus[j].cpu};
    }
  }
  return std::nullopt;
}

std::vector<PlacementChoice> derive_placements(const Topology& t) {
  std::vector<PlacementChoice> out;
  for (Placement p : kPlacements) out.push_back({p, placement_cpus(t, p)});
  return out;
}

std::string why_not_offered(const Topology& t, Placement p) {
  const std::string assumed_l3 =
      t.l3_known ? "" : " (no L3 information: one L3 per package assumed)";
  switch (p) {
    case Placement::same_cpu:
      return "this process may run on no CPU";
    case Placement::smt_sibling:
      return "no two CPUs this process may use are hardware threads of one core (no SMT)";
    case Placement::same_l3:
      return "no two cores this process may use share an L3" + assumed_l3;
    case Placement::cross_l3:
      return std::string("no two CPUs this process may use are on different L3s of one ") +
             (t.numa_known ? "NUMA node" : "package") + assumed_l3;
    case Placement::cross_numa:
      return t.numa_known ? "no two CPUs this process may use are on different NUMA nodes"
                          : "no NUMA information, and no two CPUs this process may use are on "
                            "different packages";
  }
  return "";
}

std::optional<Placement> classify(const Topology& t, const std::array<int, 2>& cpus) {
  const CpuTopology* found[2] = {nullptr, nullptr};
  for (const CpuTopology& c : t.cpus) {
    for (int i = 0; i < 2; ++i) {
      if (c.cpu == cpus[static_cast<std::size_t>(i)]) found[i] = &c;
    }
  }
  if (found[0] == nullptr || found[1] == nullptr) return std::nullopt;
  return relation(t, *found[0], *found[1]);
}

std::vector<int> placement_cpu_list(const Topology& t, Placement p, std::size_t n) {
  std::vector<int> list;
  const auto pair = placement_cpus(t, p);
  if (!pair || n == 0) return list;
  list.push_back((*pair)[0]);
  const CpuTopology* first = nullptr;
  for (const CpuTopology& c : t.cpus) {
    if (c.cpu == (*pair)[0]) first = &c;
  }
  for (const CpuTopology& c : t.cpus) {
    if (list.size() >= n) break;
    if (p == Placement::same_cpu) {
      list.assign(n, first->cpu);
    } else if (relation(t, *first, c) == p) {
      list.push_back(c.cpu);
    }
  }
  return list;
}

}  // namespace ipcbench
