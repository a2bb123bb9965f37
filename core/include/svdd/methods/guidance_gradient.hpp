// Gradients for derivative-based guidance (DPS; Chung et al. 2023): the
// direction in which the reward of the denoised prediction grows.
#pragma once

#include <ATen/core/Tensor.h>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd {

// Continuous models: d r(x0_hat(x_t)) / d x_t, [B, ...] float32, through the
// model's own denoiser (one differentiable transition of x_t at `step`).
// `reward` must be differentiable in its samples.
SVDD_API at::Tensor posterior_mean_reward_gradient(DiffusionModel& model, RewardOracle& reward,
                                                   const at::Tensor& x_t, int step);

// Discrete models: d r(p) / d p at the transition's x0 probabilities p
// [B, L, V] (the reward scores probabilities as soft one-hot samples),
// [B, L, V] float32: the first-order change of the reward when a position's
// token changes.
SVDD_API at::Tensor x0_probability_reward_gradient(Transition& transition, RewardOracle& reward,
                                                   const Domain& domain);

}  // namespace svdd
