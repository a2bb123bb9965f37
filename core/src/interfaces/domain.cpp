// Domain decoding and Samples (see domain.hpp).
#include "svdd/domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

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

Encoded Domain::encode(const std::string& decoded) const {
  if (encoder) return encoder(decoded);
  int64_t size = 1;
  for (const int64_t d : shape) size *= d;
  if (discrete()) {
    std::vector<int64_t> ids;
    for (size_t at = 0; at < decoded.size();) {
      int64_t best = -1;
      size_t best_size = 0;
      for (size_t id = 0; id < alphabet.size(); ++id) {
        const std::string& letter = alphabet[id];
        if (static_cast<int64_t>(id) == mask_id || letter.empty()) continue;
        if (letter.size() > best_size && decoded.compare(at, letter.size(), letter) == 0) {
          best = static_cast<int64_t>(id);
          best_size = letter.size();
        }
      }
      if (best < 0) {
        return {{},
                fmt::format("position {}: '{}' is not a token of {}", at + 1, decoded.substr(at, 1),
                            name)};
      }
      ids.push_back(best);
      at += best_size;
    }
    if (static_cast<int64_t>(ids.size()) != size) {
      return {{}, fmt::format("{} tokens, {} takes {}", ids.size(), name, size)};
    }
    return {at::tensor(ids, at::kLong).reshape(shape), ""};
  }
  std::vector<float> values;
  size_t start = 0;
  while (start <= decoded.size() && !decoded.empty()) {
    const size_t end = std::min(decoded.find(';', start), decoded.size());
    const std::string field = decoded.substr(start, end - start);
    char* parsed_end = nullptr;
    const double value = std::strtod(field.c_str(), &parsed_end);
    if (field.empty() || parsed_end != field.c_str() + field.size() || !std::isfinite(value)) {
      return {{}, fmt::format("value {} '{}' is not a finite number", values.size() + 1, field)};
    }
    values.push_back(static_cast<float>(value));
    start = end + 1;
  }
  if (static_cast<int64_t>(values.size()) != size) {
    return {{}, fmt::format("{} values, {} takes {} (';'-separated)", values.size(), name, size)};
  }
  return {at::tensor(values, at::kFloat).reshape(shape), ""};
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
