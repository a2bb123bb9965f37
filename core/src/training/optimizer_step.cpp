// The gradient step and learning-rate schedule shared by every trainer
// (optimizer_step.hpp).
// torch/types.h first: clip_grad.h does not include what it uses.
#include <torch/types.h>
// clang-format off
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/optimizer.h>
// clang-format on

#include <cmath>

#include "svdd/training/optimizer_step.hpp"

namespace svdd {

double cosine_learning_rate(double peak, int64_t step, int64_t total_steps) {
  return peak * 0.5 * (1 + std::cos(M_PI * double(step) / double(total_steps)));
}

void optimizer_step(torch::optim::Optimizer& optimizer, const at::Tensor& loss,
                    double learning_rate, double clip_norm) {
  std::vector<at::Tensor> parameters;
  for (auto& group : optimizer.param_groups()) {
    group.options().set_lr(learning_rate);
    parameters.insert(parameters.end(), group.params().begin(), group.params().end());
  }
  optimizer.zero_grad();
  loss.backward();
  if (clip_norm > 0) torch::nn::utils::clip_grad_norm_(parameters, clip_norm);
  optimizer.step();
}

}  // namespace svdd
