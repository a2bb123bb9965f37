// ValueEstimator: the soft value v(x_s) ~ "the reward x_s will lead to",
// which SVDD uses to score candidates before they are clean.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "svdd/export.hpp"

namespace svdd {

class SVDD_API ValueEstimator {
 public:
  virtual ~ValueEstimator();
  // x_s [B, ...] at step s in [0, T] (0: clean; its value is the reward).
  // Returns [B] float64 on CPU. Called under inference mode with rows already
  // deduplicated and chunked by core. Estimators that draw random numbers
  // (rollouts) draw them all from `generator`, the batch's; the others ignore
  // it.
  virtual at::Tensor value(const at::Tensor& x_s, int step, at::Generator& generator) = 0;
};

}  // namespace svdd
