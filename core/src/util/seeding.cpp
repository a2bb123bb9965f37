// Random streams of a master seed (see seeding.hpp).
#include "svdd/util/seeding.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace svdd {

at::Generator stream_generator(int64_t seed, const std::string& stream, int64_t index) {
  return at::make_generator<at::CPUGeneratorImpl>(stream_seed(seed, stream, index));
}

}  // namespace svdd
