// The gradient step and learning-rate schedule every trainer shares (through
// EpochLoop, epoch_loop.hpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "svdd/export.hpp"

namespace torch::optim {
class Optimizer;
}

namespace svdd {

// The learning rate at gradient step `step` of `total_steps` under a cosine
// decay from `peak` to 0 (the schedule every trainer here uses).
SVDD_API double cosine_learning_rate(double peak, int64_t step, int64_t total_steps);

// One gradient step of `optimizer` on `loss`: every parameter group's
// learning rate set to `learning_rate`, gradients zeroed and recomputed,
// their joint norm clipped to `clip_norm` when it is > 0, then the update.
SVDD_API void optimizer_step(torch::optim::Optimizer& optimizer, const at::Tensor& loss,
                             double learning_rate, double clip_norm = 0.0);

}  // namespace svdd
