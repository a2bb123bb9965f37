// Small helpers the sequence plugin's trainers share.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "svdd/seeding.hpp"

namespace svdd::sequence {

// A CPU generator for random stream `stream` (a shuffle, the initial
// weights, ...) derived from the training file's seed, so every stream draws
// the same numbers whatever ran before it.
inline at::Generator generator_for(int64_t seed, const std::string& stream, int64_t index = 0) {
  return at::make_generator<at::CPUGeneratorImpl>(stream_seed(seed, stream, index));
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace svdd::sequence
