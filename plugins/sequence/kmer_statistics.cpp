#include "kmer_statistics.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "svdd/error.hpp"

namespace svdd::sequence {
namespace {

// Counts the k-mers of one row of letter codes (-1: not a letter).
void count_row(const int64_t* codes, int64_t length, int64_t k, double* counts) {
  int64_t code = 0, valid = 0;
  const int64_t modulus = int64_t{1} << (2 * k);
  for (int64_t j = 0; j < length; ++j) {
    if (codes[j] < 0 || codes[j] > 3) {
      valid = 0;
      code = 0;
      continue;
    }
    code = (code * 4 + codes[j]) % modulus;
    if (++valid >= k) counts[code] += 1.0;
  }
}

at::Tensor normalised(at::Tensor counts) {
  const double total = counts.sum().item<double>();
  return total > 0 ? counts / total : counts;
}

void check_k(int64_t k) {
  if (k < 1 || k > 8) throw InputError("k-mer length must be in [1, 8]");
}

}  // namespace

at::Tensor kmer_frequencies(const at::Tensor& tokens, int64_t k) {
  check_k(k);
  at::Tensor rows = tokens.to(at::kCPU, at::kLong).contiguous();
  at::Tensor counts = at::zeros({int64_t{1} << (2 * k)}, at::kDouble);
  const int64_t n = rows.size(0), length = rows.size(1);
  for (int64_t i = 0; i < n; ++i) {
    count_row(rows.data_ptr<int64_t>() + i * length, length, k, counts.data_ptr<double>());
  }
  return normalised(counts);
}

at::Tensor kmer_frequencies(const std::vector<std::string>& sequences, const std::string& letters,
                            int64_t k) {
  check_k(k);
  at::Tensor counts = at::zeros({int64_t{1} << (2 * k)}, at::kDouble);
  std::vector<int64_t> codes;
  for (const auto& s : sequences) {
    codes.assign(s.size(), -1);
    for (size_t j = 0; j < s.size(); ++j) {
      const auto at =
          letters.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s[j]))));
      if (at != std::string::npos) codes[j] = static_cast<int64_t>(at);
    }
    count_row(codes.data(), static_cast<int64_t>(codes.size()), k, counts.data_ptr<double>());
  }
  return normalised(counts);
}

double pearson(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor x = a.to(at::kDouble).flatten(), y = b.to(at::kDouble).flatten();
  if (x.numel() < 2 || x.numel() != y.numel()) return NAN;
  x = x - x.mean();
  y = y - y.mean();
  const double denominator = std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
  return denominator > 0 ? (x * y).sum().item<double>() / denominator : NAN;
}

}  // namespace svdd::sequence
