// Domain decoding, Samples, and the out-of-line destructors of the interfaces
// (one home for their vtables and type info, shared by every plugin).
#include "svdd/domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "svdd/diffusion_model.hpp"
#include "svdd/error.hpp"
#include "svdd/gaussian_diffusion.hpp"
#include "svdd/masked_diffusion.hpp"
#include "svdd/method.hpp"
#include "svdd/reward_oracle.hpp"
#include "svdd/sample_set_metric.hpp"
#include "svdd/value_estimator.hpp"
#include "svdd/version.hpp"

namespace svdd {

Transition::~Transition() = default;

at::Tensor Transition::sample_tilted(int64_t, at::Generator&, const at::Tensor&) {
  throw InputError("this model's transition cannot be tilted (discrete masked diffusion only)");
}
ExactDistribution::~ExactDistribution() = default;
DiffusionModel::~DiffusionModel() = default;
RewardOracle::~RewardOracle() = default;
SampleSetMetric::~SampleSetMetric() = default;
ValueEstimator::~ValueEstimator() = default;
DecodeContext::~DecodeContext() = default;
Method::~Method() = default;
MaskedDenoiser::~MaskedDenoiser() = default;
GaussianDenoiser::~GaussianDenoiser() = default;

const char* version() { return "0.1.0"; }
const char* torch_version() { return TORCH_VERSION; }

std::vector<std::string> Domain::decode(const at::Tensor& batch) const {
  at::Tensor x = batch.detach().to(at::kCPU).contiguous();
  if (decoder) return decoder(x);
  const int64_t rows = x.size(0);
  std::vector<std::string> out(rows);
  if (discrete()) {
    at::Tensor ids = x.to(at::kLong).reshape({rows, -1});
    auto a = ids.accessor<int64_t, 2>();
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < a.size(1); ++j) {
        const int64_t id = a[i][j];
        out[i] += (id >= 0 && id < static_cast<int64_t>(alphabet.size())) ? alphabet[id] : "?";
      }
    }
    return out;
  }
  at::Tensor values = x.to(at::kDouble).reshape({rows, -1});
  if (values.size(1) > 16) return out;
  auto a = values.accessor<double, 2>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < a.size(1); ++j) {
      out[i] += fmt::format("{}{:.6g}", j ? ";" : "", a[i][j]);
    }
  }
  return out;
}

at::Tensor Domain::pairwise_distances(const at::Tensor& a, const at::Tensor& b) const {
  if (distance) return distance(a, b).to(at::kCPU, at::kDouble);
  at::Tensor x = a.detach().to(at::kCPU).reshape({a.size(0), -1});
  at::Tensor y = b.detach().to(at::kCPU).reshape({b.size(0), -1});
  if (discrete()) {
    return x.unsqueeze(1).ne(y.unsqueeze(0)).to(at::kDouble).mean(2);
  }
  return at::cdist(x.to(at::kDouble), y.to(at::kDouble));
}

Samples::Samples(at::Tensor x, const Domain& domain) : x_(std::move(x)), domain_(&domain) {}

const std::vector<std::string>& Samples::decoded() const {
  if (!decoded_) decoded_ = domain_->decode(x_);
  return *decoded_;
}

}  // namespace svdd
