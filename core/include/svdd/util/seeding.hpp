// Deterministic seeds for independent random streams (core and plugins
// derive every generator from the master seed this way).
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>

#include "svdd/export.hpp"

namespace svdd {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The seed of stream `name`, item `index` under master seed `seed`:
// splitmix64(splitmix64(seed ^ splitmix64(fnv1a(name))) + index). Each
// stream (a run's batch, a training epoch's shuffle) draws the same numbers
// whatever ran before it, so resumed work repeats exactly.
inline uint64_t stream_seed(int64_t seed, const std::string& name, int64_t index) {
  return splitmix64(splitmix64(static_cast<uint64_t>(seed) ^ splitmix64(fnv1a(name))) +
                    static_cast<uint64_t>(index));
}

// A CPU generator for the named random stream `stream` (a shuffle, the
// initial weights, the rollouts of batch `index`) of a training file's seed,
// so every stream draws the same numbers whatever ran before it.
SVDD_API at::Generator stream_generator(int64_t seed, const std::string& stream, int64_t index = 0);

}  // namespace svdd
