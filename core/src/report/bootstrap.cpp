// Percentile-bootstrap intervals of quantiles (see bootstrap.hpp).
#include "report/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "svdd/error.hpp"

namespace svdd {
namespace {

// splitmix64 as a generator: fast, and the same on every platform (the
// standard library's distributions are not).
struct SplitMix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by Lemire's multiply-shift (bias < n / 2^64).
  size_t below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
};

// Quantile q of sorted values.
double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double position = q * double(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - double(lo));
}

}  // namespace

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  return sorted_quantile(values, q);
}

double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

std::vector<Interval> bootstrap_quantile_intervals(const std::vector<double>& values,
                                                   const std::vector<double>& qs, uint64_t seed,
                                                   int resamples, double level) {
  const bool valid_qs =
      std::all_of(qs.begin(), qs.end(), [](double q) { return q >= 0 && q <= 1; });
  if (resamples < 2 || !(level > 0 && level < 1) || !valid_qs) {
    throw InputError("bootstrap: needs resamples >= 2, level in (0, 1) and every q in [0, 1]");
  }
  if (values.empty()) return std::vector<Interval>(qs.size(), {std::nan(""), std::nan("")});
  if (values.size() == 1) return std::vector<Interval>(qs.size(), {values[0], values[0]});
  // Resampling indices into the sorted sample and sorting the indices gives
  // the resample sorted: integer sorts, no copies of doubles per draw.
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  std::vector<size_t> draw(n);
  std::vector<double> resample(n);
  std::vector<std::vector<double>> statistic(qs.size(),
                                             std::vector<double>(static_cast<size_t>(resamples)));
  for (int i = 0; i < resamples; ++i) {
    SplitMix rng{seed + static_cast<uint64_t>(i) * 0x632be59bd9b4e019ULL};
    for (auto& d : draw) d = rng.below(n);
    std::sort(draw.begin(), draw.end());
    for (size_t j = 0; j < n; ++j) resample[j] = sorted[draw[j]];
    for (size_t k = 0; k < qs.size(); ++k) {
      statistic[k][static_cast<size_t>(i)] = sorted_quantile(resample, qs[k]);
    }
  }
  const double tail = (1.0 - level) / 2.0;
  std::vector<Interval> intervals;
  for (auto& s : statistic) {
    std::sort(s.begin(), s.end());
    intervals.push_back({sorted_quantile(s, tail), sorted_quantile(s, 1.0 - tail)});
  }
  return intervals;
}

Interval bootstrap_quantile_interval(const std::vector<double>& values, double q, uint64_t seed,
                                     int resamples, double level) {
  return bootstrap_quantile_intervals(values, {q}, seed, resamples, level).front();
}

MeanSd mean_sd(const std::vector<double>& values) {
  if (values.empty()) return {std::nan(""), std::nan("")};
  const double n = double(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0.0};
}

}  // namespace svdd
