#pragma once
// Small statistics shared by the harness's own measurements and its reports.
#include <algorithm>
#include <cmath>
#include <vector>

namespace ipcbench {

// The median (mean of the middle two for an even count); NaN for no values.
inline double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace ipcbench
