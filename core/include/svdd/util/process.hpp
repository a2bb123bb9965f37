// Process-wide settings for programs built on svdd (the CLI, tests, benchmarks).
#pragma once

#include "svdd/export.hpp"

namespace svdd {

// Keeps glibc from returning every large tensor buffer to the kernel: by
// default each allocation above the mmap threshold is a fresh mmap, and the
// page faults of refilling it cost more than the arithmetic (measured: a
// 4000-sample toy run took 11 s instead of 3.3 s). Call once, early in main().
SVDD_API void tune_allocator();

}  // namespace svdd
