#include "svdd/util/process.hpp"

#include <malloc.h>

namespace svdd {

void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace svdd
