// Private: the soft value of K rewards per row, shared by the estimators
// and the value training that average several x_0 per state (rollout,
// sampled_x0, soft-value labels).
#pragma once

#include <ATen/ATen.h>

#include <cmath>

namespace svdd {

// rewards [B, K] float64 -> [B]: alpha * log (1/K) sum_k exp(r_k / alpha) at
// alpha > 0 (an estimate of the soft value alpha log E[exp(r / alpha)]), the
// mean over k at alpha <= 0.
inline at::Tensor soft_mean(const at::Tensor& rewards, double alpha) {
  if (alpha <= 0) return rewards.mean(1);
  const double k = static_cast<double>(rewards.size(1));
  return alpha * ((rewards / alpha).logsumexp(1) - std::log(k));
}

}  // namespace svdd
