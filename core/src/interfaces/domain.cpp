// Domain decoding and Samples (see domain.hpp).
#include "svdd/domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "svdd/error.hpp"

namespace svdd {

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

void require_discrete(const Domain& domain, std::string_view who) {
  if (!domain.discrete()) {
    throw InputError(
        fmt::format("{} needs a discrete domain; model '{}' is continuous", who, domain.name));
  }
}

void require_continuous(const Domain& domain, std::string_view who) {
  if (domain.discrete()) {
    throw InputError(
        fmt::format("{} needs a continuous domain; model '{}' is discrete", who, domain.name));
  }
}

Samples::Samples(at::Tensor x, const Domain& domain) : x_(std::move(x)), domain_(&domain) {}

const std::vector<std::string>& Samples::decoded() const {
  if (!decoded_) decoded_ = domain_->decode(x_);
  return *decoded_;
}

}  // namespace svdd
