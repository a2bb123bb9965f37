// RewardOracle: the quantity guidance tries to make high, r(x_0).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"

namespace svdd {

class SVDD_API RewardOracle {
 public:
  virtual ~RewardOracle();
  // Scores clean samples [B, ...]: returns [B] float64 (CPU or the samples'
  // device). An invalid sample (an unparsable molecule, say) gets
  // invalid_value(), never an exception and never NaN: core treats NaN or an
  // exception as a failure of the oracle and stops the run with an error.
  virtual at::Tensor score(const Samples& samples) = 0;
  // Whether score() is differentiable in samples.tensor() (for DPS).
  virtual bool differentiable() const { return false; }
  // The documented score of an invalid sample.
  virtual double invalid_value() const = 0;
};

// A reward that scores each sample's decoded form on its own (a descriptor
// of a SMILES string, a motif count): score(text) for every sample, in
// order. `invalid_value` is what score returns for a text it cannot judge.
SVDD_API std::unique_ptr<RewardOracle> per_sample_reward(
    std::function<double(const std::string& decoded)> score, double invalid_value);

// A reward that replaces a non-finite score of a valid sample (numeric
// failure: an overflow, a NaN network) by its invalid_value() reports how
// many it replaced. A few are tolerated; when more than this share of one
// call's samples fail that way the reward is broken, not unlucky, and
// check_numeric_failures throws a RuntimeFailure naming it. Samples that are
// invalid in their domain (an unparsable molecule, a masked token) are not
// numeric failures.
inline constexpr double kMostNumericFailureShare = 0.5;
SVDD_API void check_numeric_failures(std::string_view reward, int64_t failures, int64_t samples);

}  // namespace svdd
