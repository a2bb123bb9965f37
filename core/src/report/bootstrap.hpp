// Private: percentile-bootstrap confidence intervals (Efron 1979, "Bootstrap
// methods: another look at the jackknife"; the percentile interval of Efron
// & Tibshirani 1993, ch. 13) for quantiles of a sample: the reward median and
// top-10% quantile of a run, with the numbers papers on guidance quote.
// No torch: the resampling is a plain loop over indices.
#pragma once

#include <cstdint>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// Linear-interpolated quantile q in [0, 1] of `values` (numpy's default);
// NaN when empty.
SVDD_API double quantile(std::vector<double> values, double q);
SVDD_API double median(std::vector<double> values);

struct Interval {
  double low = 0, high = 0;
};

// Resamples a figure's interval is drawn from; documented in every summary.
inline constexpr int kBootstrapResamples = 2000;

// The percentile-bootstrap interval at `level` (0.95: the 2.5% and 97.5%
// quantiles of the statistic over `resamples` resamples with replacement)
// of quantile q of `values`. Deterministic: resample i draws its indices
// from a generator seeded by splitmix64(seed + i), so the same values and
// seed give the same interval on every machine. An empty sample gives NaN
// bounds; one value gives [v, v].
SVDD_API Interval bootstrap_quantile_interval(const std::vector<double>& values, double q,
                                              uint64_t seed = 0,
                                              int resamples = kBootstrapResamples,
                                              double level = 0.95);
// The same for several quantiles from the same resamples (one interval per
// entry of `qs`): a summary's median and top-10% cost one resampling.
SVDD_API std::vector<Interval> bootstrap_quantile_intervals(const std::vector<double>& values,
                                                            const std::vector<double>& qs,
                                                            uint64_t seed = 0,
                                                            int resamples = kBootstrapResamples,
                                                            double level = 0.95);

// Mean and sample standard deviation (n - 1) of `values`; sd is 0 for one
// value, both NaN for none.
struct MeanSd {
  double mean = 0, sd = 0;
};
SVDD_API MeanSd mean_sd(const std::vector<double>& values);

}  // namespace svdd
