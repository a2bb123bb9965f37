// SampleSetMetric: one figure about a whole set of samples, such as the
// correlation of their k-mer frequencies with real data, or the share of
// valid and unique molecules. Unlike a reward, which scores each sample, a
// metric needs every sample of a run at once; experiment files list them in
// [metrics.<name>] tables and summary.csv gets one column per metric.
#pragma once

#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

class SVDD_API SampleSetMetric {
 public:
  virtual ~SampleSetMetric();
  // The decoded samples of one run (Domain::decode, as written to the
  // `sample` column of samples.csv), in output order -> one figure. NaN
  // when the figure is undefined for this set (too few samples, say);
  // throws InputError or RuntimeFailure only for a broken configuration.
  virtual double compute(const std::vector<std::string>& decoded) = 0;
};

}  // namespace svdd
