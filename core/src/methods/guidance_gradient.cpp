#include "svdd/methods/guidance_gradient.hpp"

#include <ATen/ATen.h>

#include "svdd/error.hpp"

namespace svdd {
namespace {

at::Tensor gradient_of_sum(const at::Tensor& value, const at::Tensor& input) {
  if (!value.requires_grad()) {
    throw RuntimeFailure(
        "the reward is not differentiable in its input (its score() detached or left torch)");
  }
  value.sum().backward();
  if (!input.grad().defined()) throw RuntimeFailure("the reward does not depend on its input");
  return input.grad().detach();
}

}  // namespace

at::Tensor posterior_mean_reward_gradient(DiffusionModel& model, RewardOracle& reward,
                                          const at::Tensor& x_t, int step) {
  at::AutoGradMode grad(true);
  at::Tensor x = x_t.detach().clone().requires_grad_(true);
  at::Tensor x0 = model.transition(x, step)->x0_hat();
  at::Tensor r = reward.score(Samples(x0, model.domain()));
  return gradient_of_sum(r, x).to(x_t.scalar_type());
}

at::Tensor x0_probability_reward_gradient(Transition& transition, RewardOracle& reward,
                                          const Domain& domain) {
  at::AutoGradMode grad(true);
  at::Tensor p = transition.x0_probs().detach().clone().requires_grad_(true);
  at::Tensor r = reward.score(Samples(p, domain));
  return gradient_of_sum(r, p).to(at::kFloat);
}

}  // namespace svdd
