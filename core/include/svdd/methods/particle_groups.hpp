// ParticleGroups: the groups of consecutive particles that particle methods
// (SMC, FK steering, beam search, resampling) treat independently and never
// mix, so that several conditions or prompts in one batch stay apart.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

class SVDD_API ParticleGroups {
 public:
  // One group: particles begin .. begin + width - 1.
  struct Group {
    int64_t begin;
    int64_t width;
    int64_t end() const { return begin + width; }
  };

  // `particles` rows in groups of `group_size` consecutive rows; the last
  // group holds the remainder when group_size does not divide particles.
  // group_size <= 0 (the methods' default 0): one group of all particles.
  ParticleGroups(int64_t particles, int64_t group_size);

  int64_t particles() const { return particles_; }
  // The resolved width of a full group (particles when group_size <= 0).
  int64_t group_size() const { return group_size_; }
  int64_t count() const { return static_cast<int64_t>(groups_.size()); }
  const Group& operator[](int64_t i) const { return groups_[static_cast<size_t>(i)]; }
  // In order: for (auto [begin, width] : groups) ...
  std::vector<Group>::const_iterator begin() const { return groups_.begin(); }
  std::vector<Group>::const_iterator end() const { return groups_.end(); }
  // The width of every group: [count()] int64 CPU.
  at::Tensor sizes() const;

 private:
  int64_t particles_;
  int64_t group_size_;
  std::vector<Group> groups_;
};

}  // namespace svdd
