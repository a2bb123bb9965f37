// Wall time for training logs and cards.
#pragma once

#include <chrono>

namespace svdd {

// Seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace svdd
