// Private: run a row-wise computation in chunks of at most `chunk` rows.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace svdd {

// f(begin, end) -> Tensor whose first dimension is end - begin.
template <class F>
at::Tensor map_row_chunks(int64_t rows, int64_t chunk, F&& f) {
  if (chunk <= 0 || rows <= chunk) return f(0, rows);
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < rows; begin += chunk) {
    parts.push_back(f(begin, std::min(rows, begin + chunk)));
  }
  return at::cat(parts, 0);
}

// "[2, 3, 4]" for messages.
inline std::string shape_text(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

}  // namespace svdd
