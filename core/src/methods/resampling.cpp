// Resampling schemes (see resampling.hpp).
#include "svdd/methods/resampling.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/methods/particle_groups.hpp"

namespace svdd {

ResamplingScheme resampling_scheme(const std::string& name) {
  if (auto scheme = parse_choice(kResamplingSchemes, name)) return *scheme;
  throw InputError(fmt::format("resampling: unknown scheme '{}' (known: {})", name,
                               choice_list(kResamplingSchemes)));
}

namespace {

// Inverse-CDF lookup of sorted uniforms u [n] in the cumulative weights.
at::Tensor invert_cdf(const at::Tensor& weights, const at::Tensor& u) {
  at::Tensor cdf = weights.cumsum(0);
  cdf[-1] = 1.0;  // guard against rounding
  return at::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true)
      .clamp_max(weights.size(0) - 1);
}

at::Tensor resample_group(const at::Tensor& w, ResamplingScheme scheme, at::Generator& gen) {
  const int64_t n = w.size(0);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  switch (scheme) {
    case ResamplingScheme::multinomial:
      return std::get<0>(at::multinomial(w, n, /*replacement=*/true, gen).sort());
    case ResamplingScheme::systematic: {
      at::Tensor u0 = at::rand({1}, gen, options);
      return invert_cdf(w, (at::arange(n, options) + u0) / double(n));
    }
    case ResamplingScheme::stratified: {
      at::Tensor u = at::rand({n}, gen, options);
      return invert_cdf(w, (at::arange(n, options) + u) / double(n));
    }
    case ResamplingScheme::residual: {
      at::Tensor copies = (w * n).floor().to(at::kLong);
      const int64_t rest = n - copies.sum().item<int64_t>();
      at::Tensor kept = at::repeat_interleave(at::arange(n, at::kLong), copies);
      if (rest == 0) return kept;
      at::Tensor residual = w * n - copies.to(at::kDouble);
      at::Tensor extra = at::multinomial(residual / residual.sum(), rest, true, gen);
      return std::get<0>(at::cat({kept, extra}).sort());
    }
  }
  return {};
}

}  // namespace

at::Tensor resample(const at::Tensor& log_weights, int64_t group_size, ResamplingScheme scheme,
                    at::Generator& generator) {
  at::Tensor lw = log_weights.to(at::kCPU, at::kDouble);
  at::Tensor ancestors = at::empty({lw.size(0)}, at::kLong);
  for (auto [begin, width] : ParticleGroups(lw.size(0), group_size)) {
    at::Tensor w = lw.slice(0, begin, begin + width).softmax(0);
    if (!w.isfinite().all().item<bool>()) {
      throw RuntimeFailure("resampling: weights are not finite (all log-weights -inf or NaN)");
    }
    ancestors.slice(0, begin, begin + width).copy_(resample_group(w, scheme, generator) + begin);
  }
  return ancestors;
}

at::Tensor effective_sample_size(const at::Tensor& log_weights, int64_t group_size) {
  at::Tensor lw = log_weights.to(at::kCPU, at::kDouble);
  std::vector<double> ess;
  for (auto [begin, width] : ParticleGroups(lw.size(0), group_size)) {
    at::Tensor w = lw.slice(0, begin, begin + width).softmax(0);
    ess.push_back(1.0 / w.pow(2).sum().item<double>());
  }
  return at::tensor(ess, at::kDouble);
}

}  // namespace svdd
