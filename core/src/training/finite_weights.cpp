// Refusing non-finite checkpoint weights (see finite_weights.hpp).
#include "svdd/training/finite_weights.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "svdd/error.hpp"

namespace svdd {

void require_finite_weights(const std::vector<at::Tensor>& weights,
                            const std::filesystem::path& checkpoint) {
  int64_t bad = 0, total = 0;
  for (const auto& w : weights) {
    if (!w.defined() || !at::isFloatingType(w.scalar_type())) continue;
    bad += (~at::isfinite(w.detach())).sum().item<int64_t>();
    total += w.numel();
  }
  if (bad == 0) return;
  throw InputError(fmt::format(
      "{}: {} of its {} weights are NaN or infinite (a training that diverged?); it cannot "
      "sample. Retrain it (a lower learning_rate, a clip_norm) or use another checkpoint",
      checkpoint.string(), bad, total));
}

}  // namespace svdd
