// Groups of consecutive particles (see particle_groups.hpp).
#include "svdd/methods/particle_groups.hpp"

#include <ATen/ATen.h>

#include <algorithm>

namespace svdd {

ParticleGroups::ParticleGroups(int64_t particles, int64_t group_size)
    : particles_(particles), group_size_(group_size > 0 ? group_size : particles) {
  for (int64_t begin = 0; begin < particles_; begin += group_size_) {
    groups_.push_back({begin, std::min(group_size_, particles_ - begin)});
  }
}

at::Tensor ParticleGroups::sizes() const {
  std::vector<int64_t> widths;
  widths.reserve(groups_.size());
  for (const Group& group : groups_) widths.push_back(group.width);
  return at::tensor(widths, at::kLong);
}

}  // namespace svdd
